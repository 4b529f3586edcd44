import {
  findOptionKeyProvider,
  howToProvide,
  registry as globalRegistry,
  strategyOptionKeys,
  toStrategyChoice,
  type CommonModelOptions,
  type Registry,
  type StrategyChoice,
} from '@lm/core-blocks';
import { ModelConfigError, type NetworkConfig } from '../build-network';
import type { ConventionsSpec } from '../conventions';

/**
 * Options of `createModel`: the common ones, the conventions, plus one shorthand key per registered strategy
 * (`stochasticDepth` when `@lm/stochastic` is imported; a plugin strategy gets its own), which that strategy's package types.
 */
export interface ModelOptions extends CommonModelOptions {
  /** 'tfjs' (default), 'authors' (the LM-ResNet authors' PyTorch conventions) or single fields; see conventions.ts. */
  conventions?: ConventionsSpec;
}

/** The options every zoo model takes; strategies add their shorthand keys through the registry. */
export const MODEL_OPTION_NAMES: readonly string[] = [
  'numClasses',
  'inputShape',
  'block',
  'blockOptions',
  'scheme',
  'schemeOptions',
  'dt',
  'preActivation',
  'shortcut',
  'perChannelK',
  'strategy',
  'strategies',
  'seed',
  'name',
  'conventions',
];

function unknownOption(model: string, key: string, shorthands: Map<string, string>): ModelConfigError {
  const provider = findOptionKeyProvider(key);
  if (provider) {
    return new ModelConfigError(
      `Option '${key}' of model '${model}' switches on the strategy '${provider.strategy}' of the package ` +
        `'${provider.manifest.package}', which is not registered: ${howToProvide(provider)}`,
    );
  }
  const known = [...MODEL_OPTION_NAMES, ...shorthands.keys()];
  return new ModelConfigError(`Unknown option '${key}' for model '${model}'. Options: ${known.join(', ')}.`);
}

/** Drops undefined options (as timm's create_model does) and rejects unknown ones by name. */
export function cleanModelOptions(model: string, options: ModelOptions, registry: Registry = globalRegistry): ModelOptions {
  const shorthands = strategyOptionKeys(registry);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options ?? {})) {
    if (value === undefined) continue;
    if (!MODEL_OPTION_NAMES.includes(key) && !shorthands.has(key)) throw unknownOption(model, key, shorthands);
    out[key] = value;
  }
  return out as ModelOptions;
}

/**
 * The strategies of a model in the order they apply: the base's, then the user's in the order of their keys
 * (`strategy`, each of `strategies`, each shorthand key). Each strategy applies once: choosing one again lays the
 * new options over the earlier ones in its first place.
 */
export function resolveStrategies(model: string, base: readonly StrategyChoice[], o: ModelOptions, registry: Registry = globalRegistry): StrategyChoice[] {
  const shorthands = strategyOptionKeys(registry);
  const user: StrategyChoice[] = [];
  for (const [key, value] of Object.entries(o)) {
    if (key === 'strategy') user.push(toStrategyChoice(value as string | StrategyChoice));
    else if (key === 'strategies') {
      if (!Array.isArray(value)) throw new ModelConfigError(`Model '${model}': option 'strategies' must be a list of names or { name, options }.`);
      user.push(...value.map((v) => toStrategyChoice(v as string | StrategyChoice)));
    } else if (shorthands.has(key)) user.push({ name: shorthands.get(key)!, options: value as Record<string, unknown> });
  }
  const out: StrategyChoice[] = [];
  for (const choice of [...base, ...user]) {
    if (typeof choice?.name !== 'string') throw new ModelConfigError(`Model '${model}': a strategy needs a registry name, got ${JSON.stringify(choice)}.`);
    const same = out.find((c) => c.name === choice.name);
    if (same) same.options = { ...same.options, ...(choice.options ?? {}) };
    else out.push({ name: choice.name, options: { ...(choice.options ?? {}) } });
  }
  return out;
}

export type NetworkBase = Omit<NetworkConfig, 'name' | 'numClasses' | 'inputShape' | 'dt'> &
  Partial<Pick<NetworkConfig, 'numClasses' | 'inputShape' | 'dt'>>;

/** A zoo entry's base configuration with the user's options laid over it. */
export function applyModelOptions(model: string, base: NetworkBase, options: ModelOptions, registry: Registry = globalRegistry): NetworkConfig {
  const o = cleanModelOptions(model, options, registry);
  const schemeOptions = { ...(base.schemeOptions ?? {}), ...(o.schemeOptions ?? {}) };
  if (o.perChannelK !== undefined) schemeOptions.perChannelK = o.perChannelK;
  const { strategy: baseStrategy, strategies: baseStrategies, ...rest } = base;
  return {
    ...rest,
    name: o.name ?? model,
    numClasses: o.numClasses ?? base.numClasses ?? 10,
    inputShape: o.inputShape ?? base.inputShape ?? (base.stem === 'imagenet' ? [224, 224, 3] : [32, 32, 3]),
    dt: o.dt ?? base.dt ?? 1,
    block: o.block ?? base.block,
    blockOptions: { ...(base.blockOptions ?? {}), ...(o.blockOptions ?? {}) },
    scheme: o.scheme ?? base.scheme,
    schemeOptions,
    shortcut: o.shortcut ?? base.shortcut,
    preActivation: o.preActivation ?? base.preActivation,
    strategies: resolveStrategies(model, [...(baseStrategy ? [baseStrategy] : []), ...(baseStrategies ?? [])], o, registry),
    seed: o.seed ?? base.seed,
    conventions: o.conventions ?? base.conventions,
  };
}
