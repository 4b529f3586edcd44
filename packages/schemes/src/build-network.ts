import * as tfl from '@tensorflow/tfjs-layers';
import {
  applyLayer,
  channelsOf,
  bnRelu,
  batchNorm,
  conv,
  layerSeed,
  registry as globalRegistry,
  relu,
  SHORTCUT_TYPES,
  type Registry,
  type SchemeDefinition,
  type SchemeMemory,
  type SchemeState,
  type ShortcutType,
  type StrategyChoice,
  withConvConventions,
} from '@lm/core-blocks';
import { createStepContext, type ResolvedStrategy, type StepSetup } from './step-context';
import { classifierInitializers, resolveConventions, type ConventionsSpec, type ModelConventions } from './conventions';

/** A ResNet-like network as data: stem, stages of steps, head. Every model of the zoo is one of these. */
export interface NetworkConfig {
  name: string;
  /** 'cifar': one 3x3 conv; 'imagenet': 7x7/2 conv, BN, ReLU, 3x3/2 max pool. */
  stem: 'cifar' | 'imagenet';
  stemWidth: number;
  /** Base width of each stage; a step's f(u) has width · expansion channels. */
  stageWidths: number[];
  blocksPerStage: number[];
  block: string;
  blockOptions?: Record<string, unknown>;
  scheme: string;
  schemeOptions?: Record<string, unknown>;
  shortcut: ShortcutType;
  /** Pre-activation networks end with BN-ReLU before pooling; by default the block decides. */
  preActivation?: boolean;
  numClasses: number;
  inputShape: [number, number, number];
  dt: number;
  /** One strategy: the same as a one-element `strategies` placed first. */
  strategy?: StrategyChoice;
  /** Stochastic strategies applied in this order at each hook. */
  strategies?: StrategyChoice[];
  seed?: number;
  /** Padding, initialisation and k parametrisation: 'tfjs' (default), 'authors' or single fields (conventions.ts). */
  conventions?: ConventionsSpec;
}

export class ModelConfigError extends Error {
  override name = 'ModelConfigError';
}

function check(cond: boolean, message: string): void {
  if (!cond) throw new ModelConfigError(message);
}

export function validateNetworkConfig(c: NetworkConfig): void {
  const where = `model '${c.name}'`;
  check(Number.isInteger(c.numClasses) && c.numClasses >= 1, `${where}: option 'numClasses' must be a positive integer, got ${c.numClasses}.`);
  check(
    Array.isArray(c.inputShape) && c.inputShape.length === 3 && c.inputShape.every((d) => Number.isInteger(d) && d > 0),
    `${where}: option 'inputShape' must be [height, width, channels] of positive integers, got ${JSON.stringify(c.inputShape)}.`,
  );
  check(SHORTCUT_TYPES.includes(c.shortcut), `${where}: option 'shortcut' must be one of ${SHORTCUT_TYPES.join(', ')}, got '${c.shortcut}'.`);
  check(typeof c.dt === 'number' && c.dt > 0 && Number.isFinite(c.dt), `${where}: option 'dt' must be a positive number, got ${c.dt}.`);
  check(
    c.stageWidths.length === c.blocksPerStage.length && c.blocksPerStage.every((n) => Number.isInteger(n) && n >= 1),
    `${where}: 'stageWidths' and 'blocksPerStage' must have one positive entry per stage.`,
  );
}

/** The past a scheme keeps for its options, checked. */
export function schemeMemory(name: string, scheme: SchemeDefinition<any>, options: Record<string, unknown>): SchemeMemory {
  const m = typeof scheme.memory === 'function' ? scheme.memory(options) : (scheme.memory ?? { states: 0 });
  const count = (n: number | undefined) => Number.isInteger(n ?? 0) && (n ?? 0) >= 0;
  check(count(m.states) && count(m.evaluations), `scheme '${name}': memory must be whole numbers of states and evaluations >= 0, got ${JSON.stringify(m)}.`);
  return { states: m.states, evaluations: m.evaluations ?? 0 };
}

/** The configured strategies looked up in `registry`, defaults laid under their options, in order. */
function resolveStrategyDefinitions(config: NetworkConfig, registry: Registry): ResolvedStrategy[] {
  const choices = [...(config.strategy ? [config.strategy] : []), ...(config.strategies ?? [])];
  const resolved = choices.map(({ name, options }) => {
    const definition = registry.get('strategy', name);
    return { name, definition, options: { ...(definition.defaults ?? {}), ...(options ?? {}) } };
  });
  const combiners = resolved.filter((s) => s.definition.combineBranches);
  check(
    combiners.length <= 1,
    `model '${config.name}': strategies ${combiners.map((s) => `'${s.name}'`).join(' and ')} both combine branches; choose one of them.`,
  );
  return resolved;
}

/**
 * Builds the network: stem, then for stage s and step b the scheme steps u_n → u_{n+1} with the configured
 * block as f (stride 2 at the first step of every stage but the first), then pooling and a linear classifier.
 * The model outputs logits.
 */
export function buildNetwork(config: NetworkConfig, registry: Registry = globalRegistry): tfl.LayersModel {
  validateNetworkConfig(config);
  const conventions = resolveConventions(config.conventions, `model '${config.name}'`);
  return withConvConventions(conventions, () => buildWithConventions(config, registry, conventions));
}

function buildWithConventions(config: NetworkConfig, registry: Registry, conventions: ModelConventions): tfl.LayersModel {
  const block = registry.get('block', config.block);
  const scheme = registry.get('scheme', config.scheme);
  const schemeOptions = { ...(scheme.defaults ?? {}), ...(config.schemeOptions ?? {}) };
  const memory = schemeMemory(config.scheme, scheme, schemeOptions);
  const strategies = resolveStrategyDefinitions(config, registry);
  const preActivation = config.preActivation ?? block.preActivation;
  const seed = config.seed;
  const setup: StepSetup = {
    blockName: config.block,
    block,
    blockOptions: config.blockOptions ?? {},
    shortcut: config.shortcut,
    strategies,
    dt: config.dt,
    memory,
    seed,
    coefficientStorage: conventions.kParametrisation,
    strategySeed: seed ?? Math.floor(Math.random() * 0x7fffffff),
  };

  const input = tfl.input({ shape: config.inputShape, name: 'input' });
  let u;
  if (config.stem === 'cifar') {
    u = conv(input, { filters: config.stemWidth, kernelSize: 3, name: 'stem_conv', seed });
    if (!preActivation) u = relu(batchNorm(u, 'stem_bn'), 'stem_relu');
  } else {
    u = conv(input, { filters: config.stemWidth, kernelSize: 7, stride: 2, name: 'stem_conv', seed });
    u = relu(batchNorm(u, 'stem_bn'), 'stem_relu');
    // after a ReLU, zero padding is PyTorch's padding=1 of the max pool (inputs ≥ 0)
    if (conventions.padding === 'symmetric') u = applyLayer(tfl.layers.zeroPadding2d({ padding: 1, name: 'stem_pool_pad' }), u);
    u = applyLayer(tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: conventions.padding === 'symmetric' ? 'valid' : 'same', name: 'stem_pool' }), u);
  }

  const count = config.blocksPerStage.reduce((a, b) => a + b, 0);
  let state: SchemeState = { u };
  let index = 0;
  config.stageWidths.forEach((width, stage) => {
    for (let b = 0; b < config.blocksPerStage[stage]!; b++) {
      index++;
      const stride = stage > 0 && b === 0 ? 2 : 1;
      const name = `s${stage + 1}_b${b + 1}`;
      const ctx = createStepContext(setup, state.u, { index, count, stage, block: b }, width, stride, name);
      state = scheme.step(state, ctx, schemeOptions);
    }
  });

  let x = state.u;
  if (preActivation) x = bnRelu(x, 'final');
  x = applyLayer(tfl.layers.globalAveragePooling2d({ name: 'pool' }), x);
  const logits = applyLayer(
    tfl.layers.dense({
      units: config.numClasses,
      name: 'classifier',
      ...classifierInitializers(conventions, channelsOf(x), layerSeed(seed, 'classifier')),
    }),
    x,
  );
  return tfl.model({ inputs: input, outputs: logits, name: config.name });
}
