import type { CommonModelOptions } from '@lm/core-blocks';
import { ModelConfigError, type NetworkConfig } from '../build-network';
import type { ConventionsSpec } from '../conventions';

/** Options of `createModel`: the common ones plus shorthands for the stochastic strategies of @lm/stochastic. */
export interface ModelOptions extends CommonModelOptions {
  /** Shorthand for `strategy: { name: 'stochastic-depth', options }`, e.g. `{ pL: 0.8 }`. */
  stochasticDepth?: Record<string, unknown>;
  /** Shorthand for `strategy: { name: 'shake-shake', options }`. */
  shakeShake?: Record<string, unknown>;
  /** Shorthand for `strategy: { name: 'additive-noise', options }`. */
  noise?: Record<string, unknown>;
  /** 'tfjs' (default), 'authors' (the LM-ResNet authors' PyTorch conventions) or single fields; see conventions.ts. */
  conventions?: ConventionsSpec;
}

const STRATEGY_SHORTHANDS = {
  stochasticDepth: 'stochastic-depth',
  shakeShake: 'shake-shake',
  noise: 'additive-noise',
} as const;

export const MODEL_OPTION_NAMES: readonly (keyof ModelOptions)[] = [
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
  'seed',
  'name',
  'stochasticDepth',
  'shakeShake',
  'noise',
  'conventions',
];

/** Drops undefined options (as timm's create_model does) and rejects unknown ones by name. */
export function cleanModelOptions(model: string, options: ModelOptions): ModelOptions {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options ?? {})) {
    if (value === undefined) continue;
    if (!MODEL_OPTION_NAMES.includes(key as keyof ModelOptions)) {
      throw new ModelConfigError(`Unknown option '${key}' for model '${model}'. Options: ${MODEL_OPTION_NAMES.join(', ')}.`);
    }
    out[key] = value;
  }
  return out as ModelOptions;
}

function resolveStrategy(model: string, o: ModelOptions): NetworkConfig['strategy'] {
  const chosen: NetworkConfig['strategy'][] = [];
  if (o.strategy !== undefined) chosen.push(typeof o.strategy === 'string' ? { name: o.strategy } : o.strategy);
  for (const [key, name] of Object.entries(STRATEGY_SHORTHANDS)) {
    const opts = o[key as keyof typeof STRATEGY_SHORTHANDS];
    if (opts !== undefined) chosen.push({ name, options: opts });
  }
  if (chosen.length > 1) {
    throw new ModelConfigError(
      `Model '${model}': choose one stochastic strategy; got ${chosen.map((s) => s!.name).join(' and ')}.`,
    );
  }
  return chosen[0];
}

export type NetworkBase = Omit<NetworkConfig, 'name' | 'numClasses' | 'inputShape' | 'dt'> &
  Partial<Pick<NetworkConfig, 'numClasses' | 'inputShape' | 'dt'>>;

/** A zoo entry's base configuration with the user's options laid over it. */
export function applyModelOptions(model: string, base: NetworkBase, options: ModelOptions): NetworkConfig {
  const o = cleanModelOptions(model, options);
  const schemeOptions = { ...(base.schemeOptions ?? {}), ...(o.schemeOptions ?? {}) };
  if (o.perChannelK !== undefined) schemeOptions.perChannelK = o.perChannelK;
  return {
    ...base,
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
    strategy: resolveStrategy(model, o) ?? base.strategy,
    seed: o.seed ?? base.seed,
    conventions: o.conventions ?? base.conventions,
  };
}
