import type * as tfl from '@tensorflow/tfjs-layers';
import type { Registry } from './registry';
import type { CoefficientStorage } from './scheme-coefficients';
import type { SymbolicTensor } from './symbolic';

/** What any registry entry may say about itself. */
export interface EntryMetadata {
  description?: string;
  /** The npm package that provides the entry, for error messages that say what to import. */
  provider?: string;
}

/** Where a step sits in the network: block l of L, counted over all stages from 1. */
export interface StepPosition {
  /** 1-based index of the step over the whole network. */
  index: number;
  /** Total number of steps L. */
  count: number;
  /** 0-based stage and block-within-stage. */
  stage: number;
  block: number;
}

/** A residual function f with fixed weights that a scheme may apply as often as it needs. */
export interface ResidualFunction {
  (u: SymbolicTensor): SymbolicTensor;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly stride: number;
  /** The branch sub-models holding f's weights (one, or several for multi-branch strategies). */
  readonly branches: tfl.LayersModel[];
}

export interface ResidualRequest {
  inChannels?: number;
  outChannels?: number;
  stride?: number;
  /** Suffix that tells several residual functions of one step apart (`F`, `G`, `f1`, `f2`). */
  suffix?: string;
}

/** What a scheme is given to take one step u_n -> u_{n+1}. */
export interface StepContext {
  readonly position: StepPosition;
  /** Unique name prefix for this step's layers. */
  readonly name: string;
  /** Step size Δt of the discretisation. */
  readonly dt: number;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly stride: number;
  /** True when this step changes H, W or C, so u_{n+1} = S(u_n) + Δt f(u_n) through the shortcut S. */
  readonly changesShape: boolean;
  /** The past the scheme declared it keeps (its `memory` for its options). */
  readonly memory: SchemeMemory;
  /** The model seed (undefined: random), for a scheme's own initialisers; derive per layer with `layerSeed`. */
  readonly seed?: number;
  /** How the model's conventions store trainable scheme coefficients (a scheme's own option may override it). */
  readonly coefficientStorage: CoefficientStorage;
  /** A new residual function with fresh weights (perturbed by the stochastic strategy, if any). */
  residual(request?: ResidualRequest): ResidualFunction;
  /**
   * The shortcut S(u): identity when the shape is kept, else the configured projection or zero padding. One S per
   * step: calling it again applies the same layers (the same weights) to another tensor.
   */
  shortcut(u: SymbolicTensor): SymbolicTensor;
  /** Block post-processing and the strategy's perturbation of the step, applied to u_{n+1}. */
  finishStep(u: SymbolicTensor): SymbolicTensor;
}

/**
 * The state a scheme carries from step to step: u_n, and for multi-step schemes the past states and past
 * evaluations of f it declared it keeps (see {@link SchemeMemory}), most recent first.
 */
export interface SchemeState {
  u: SymbolicTensor;
  /** u_{n−1}, u_{n−2}, ...: at most `memory.states` entries. */
  history?: SymbolicTensor[];
  /** f(u_{n−1}), f(u_{n−2}), ...: at most `memory.evaluations` entries. */
  pastF?: SymbolicTensor[];
}

/** How much of the past a scheme keeps: a k-step method keeps k − 1 states (and k − 1 evaluations of f if it uses them). */
export interface SchemeMemory {
  states: number;
  evaluations?: number;
}

/** A way of stepping residual branches: forward Euler, LM two-step, RK2, backward Euler, RevNet... */
export interface SchemeDefinition<O = Record<string, unknown>> extends EntryMetadata {
  defaults?: O;
  /** The past the scheme keeps (default none); where a step changes shape, each kept tensor is carried through S. */
  memory?: SchemeMemory | ((options: O) => SchemeMemory);
  step(state: SchemeState, ctx: StepContext, options: O): SchemeState;
}

/** What a stochastic strategy is told about the place it perturbs. */
export interface PerturbationContext {
  readonly position: StepPosition;
  readonly name: string;
  readonly dt: number;
  /** Seed for this place, derived from the model seed and the step, so runs repeat exactly. */
  readonly seed: number;
}

/**
 * A random perturbation of a residual branch or of the step (stochastic depth, shake-shake, noise).
 * A strategy implements any subset of the hooks.
 */
export interface StrategyDefinition<O = Record<string, unknown>> extends EntryMetadata {
  /** Options laid under the user's, whichever way the strategy is chosen. */
  defaults?: O;
  /**
   * The `createModel` option that switches the strategy on with its options, e.g. `stochasticDepth` for
   * `createModel(name, { stochasticDepth: { pL: 0.8 } })`. Default: the registry name in camelCase.
   */
  optionKey?: string;
  /** How many branches one residual function holds (shake-shake: 2). Default 1. */
  branches?: number;
  /** Combines the outputs of several branches into f(u) (shake-shake's random convex combination). */
  combineBranches?(outputs: SymbolicTensor[], ctx: PerturbationContext, options: O): SymbolicTensor;
  /** Perturbs f(u) (stochastic depth: η f(u) with η ~ Bernoulli(p)). */
  perturbResidual?(f: SymbolicTensor, ctx: PerturbationContext, options: O): SymbolicTensor;
  /** Perturbs u_{n+1} after the step (additive noise injection). */
  perturbStep?(u: SymbolicTensor, ctx: PerturbationContext, options: O): SymbolicTensor;
}

/** A strategy by registry name, with its options. */
export interface StrategyChoice {
  name: string;
  options?: Record<string, unknown>;
}

/**
 * The shorthand option keys of strategies (`stochasticDepth: {...}`); empty here, because each package that
 * provides a strategy adds its key by declaration merging (`declare module '@lm/core-blocks'`).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface StrategyShorthands {}

/** Options every model understands; families add their own. */
export interface CommonModelOptions extends StrategyShorthands {
  numClasses?: number;
  /** [H, W, C] of the input images. */
  inputShape?: [number, number, number];
  /** Override the residual block by registry name (a plugin block included). */
  block?: string;
  blockOptions?: Record<string, unknown>;
  /** Override the scheme by registry name. */
  scheme?: string;
  schemeOptions?: Record<string, unknown>;
  /** Step size Δt. */
  dt?: number;
  preActivation?: boolean;
  shortcut?: ShortcutType;
  /** LM schemes: one k per channel instead of one per block. */
  perChannelK?: boolean;
  /** One stochastic strategy by registry name, with its options (the same as a one-element `strategies`). */
  strategy?: string | StrategyChoice;
  /** Stochastic strategies applied in this order at each hook; shorthand keys add theirs in the order given. */
  strategies?: (string | StrategyChoice)[];
  /** Seed for weight initialisation and the strategy's randomness. */
  seed?: number;
  name?: string;
}

/** Shortcut used where a step changes shape: "A" zero-pads the identity, the others project with a 1x1 conv. */
export type ShortcutType = 'A' | 'projection-preact' | 'projection';

/** A named model factory, like timm's registered entry points. */
export interface ModelDefinition<O extends CommonModelOptions = CommonModelOptions> extends EntryMetadata {
  /** Trainable parameters the paper reports, for the parameter table. */
  paperParams?: number;
  /** Builds the model; `registry` is the one the model was looked up in, and everything it builds comes from it. */
  create(options: O, registry: Registry): tfl.LayersModel;
}
