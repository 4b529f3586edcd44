import { applyLayer, type PerturbationContext, type Registry, type StrategyDefinition, type SymbolicTensor } from '@lm/core-blocks';
import { AdditiveNoise, type NoiseDistribution } from './additive-noise';
import { DropPath, survivalProbability, type DropPathMode, type DropPathScaleAt, type SurvivalRule } from './drop-path';
import { ShakeShake, type ShakeBackward, type ShakeForward, type ShakeLevel } from './shake-shake';

function fail(strategy: string, ctx: PerturbationContext, message: string): never {
  throw new Error(`${strategy} at '${ctx.name}': ${message}`);
}

function oneOf<T extends string>(strategy: string, ctx: PerturbationContext, option: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value)) fail(strategy, ctx, `option '${option}' must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got '${value}'.`);
  return value;
}

export interface StochasticDepthOptions {
  /** Survival probability of the last block, p_L (default 0.5, Huang et al.'s choice; the paper uses 0.8 for LM-ResNet56). */
  pL?: number;
  /** `'linear'`: p_l = 1 − (l / L)(1 − p_L) (default); `'uniform'`: p_l = p_L for every block. */
  rule?: SurvivalRule;
  /** Where survivors are rescaled: `'train'` (default, by 1/p_l; evaluation is the plain network) or `'eval'` (Huang's original). */
  scaleAt?: DropPathScaleAt;
  /** One η per mini-batch (`'batch'`, default, as Huang et al. and the paper's η_n) or per image (`'sample'`). */
  mode?: DropPathMode;
}

/**
 * Stochastic depth (Huang et al. 2016) as a perturbation of the residual: f(u) ↦ η_l f(u) with η_l ~ Bernoulli(p_l).
 * Because only f is dropped, it works in every scheme: in the LM scheme it is exactly the paper's
 * X_{n+1} = (1 − k_n) X_n + k_n X_{n−1} + η_n f(X_n) (section 3.2), and at a step that changes shape the shortcut
 * path S(u) is kept. A scheme that evaluates f several times in one step (PolyNet's F(F(u)), RK2's f1, f2,
 * RevNet's F, G) gets one independent η per evaluation.
 */
export const stochasticDepth: StrategyDefinition<StochasticDepthOptions> = {
  description: 'stochastic depth: eta_l f(u), eta_l ~ Bernoulli(p_l), p_l = 1 - (l/L)(1 - p_L) (Huang et al. 2016)',
  optionKey: 'stochasticDepth',
  defaults: { pL: 0.5, rule: 'linear', scaleAt: 'train', mode: 'batch' },
  perturbResidual(f: SymbolicTensor, ctx: PerturbationContext, o: StochasticDepthOptions): SymbolicTensor {
    const name = 'stochastic-depth';
    const pL = o.pL ?? 0.5;
    if (typeof pL !== 'number' || !(pL > 0 && pL <= 1)) fail(name, ctx, `option 'pL' must be in (0, 1], got ${pL}.`);
    const rule = oneOf(name, ctx, 'rule', o.rule ?? 'linear', ['linear', 'uniform'] as const);
    const scaleAt = oneOf(name, ctx, 'scaleAt', o.scaleAt ?? 'train', ['train', 'eval'] as const);
    const mode = oneOf(name, ctx, 'mode', o.mode ?? 'batch', ['batch', 'sample'] as const);
    const survival = survivalProbability(ctx.position, pL, rule);
    return applyLayer(new DropPath({ name: ctx.name, survival, scaleAt, mode, seed: ctx.seed }), f);
  },
};

export interface ShakeShakeStrategyOptions {
  /** `'shake'` (default): random η forward; `'even'`: η = 1/2. */
  forward?: ShakeForward;
  /** `'shake'` (default): independent η' backward; `'keep'`: the forward η; `'even'`: 1/2. */
  backward?: ShakeBackward;
  /** `'image'` (default): one η per image; `'batch'`: one per mini-batch. */
  level?: ShakeLevel;
}

/**
 * Shake-shake (Gastaldi 2017) with the step size of the paper's eq. (4): every residual function holds two
 * branches f1, f2 combined as f = c1 f1 + c2 f2, c1 = 1/2 + (η − 1/2)/√Δt, c2 = 1 − c1, so that the scheme's
 * Δt·f has the coefficients Δt/2 ± √Δt (η − 1/2) of eq. (4); see {@link shakeCoefficient}.
 */
export const shakeShakeStrategy: StrategyDefinition<ShakeShakeStrategyOptions> = {
  description: 'shake-shake: two branches, dt/2 + sqrt(dt)(eta - 1/2) and dt/2 + sqrt(dt)(1/2 - eta), eta ~ U(0,1) per image, independent backward (Gastaldi 2017, eq. (4))',
  optionKey: 'shakeShake',
  defaults: { forward: 'shake', backward: 'shake', level: 'image' },
  branches: 2,
  combineBranches(outputs: SymbolicTensor[], ctx: PerturbationContext, o: ShakeShakeStrategyOptions): SymbolicTensor {
    const name = 'shake-shake';
    if (outputs.length !== 2) fail(name, ctx, `combines two branches, got ${outputs.length}.`);
    const forward = oneOf(name, ctx, 'forward', o.forward ?? 'shake', ['shake', 'even'] as const);
    const backward = oneOf(name, ctx, 'backward', o.backward ?? 'shake', ['shake', 'keep', 'even'] as const);
    const level = oneOf(name, ctx, 'level', o.level ?? 'image', ['image', 'batch'] as const);
    return applyLayer(new ShakeShake({ name: `${ctx.name}_shake`, dt: ctx.dt, forward, backward, level, seed: ctx.seed }), outputs);
  },
};

export interface AdditiveNoiseStrategyOptions {
  /** σ in u_{n+1} + σ √Δt ε (default 0.1; 0 switches the noise off). */
  level?: number;
  /** ε ~ N(0, 1) (`'gaussian'`, default) or uniform with unit variance (`'uniform'`). */
  distribution?: NoiseDistribution;
}

/**
 * Additive noise injection after each step: u_{n+1} ↦ u_{n+1} + σ √Δt ε in training (√Δt: the Brownian
 * increment's scaling), identity in evaluation. The network becomes the Euler–Maruyama discretisation of
 * du = f(u) dt + σ dW_t (or of the scheme's multi-step analogue).
 */
export const additiveNoiseStrategy: StrategyDefinition<AdditiveNoiseStrategyOptions> = {
  description: 'additive noise after each step: u + level * sqrt(dt) * eps, eps Gaussian or uniform with unit variance',
  optionKey: 'additiveNoise',
  defaults: { level: 0.1, distribution: 'gaussian' },
  perturbStep(u: SymbolicTensor, ctx: PerturbationContext, o: AdditiveNoiseStrategyOptions): SymbolicTensor {
    const name = 'additive-noise';
    const level = o.level ?? 0.1;
    if (typeof level !== 'number' || !(level >= 0 && Number.isFinite(level))) fail(name, ctx, `option 'level' must be a number >= 0, got ${level}.`);
    const distribution = oneOf(name, ctx, 'distribution', o.distribution ?? 'gaussian', ['gaussian', 'uniform'] as const);
    return applyLayer(new AdditiveNoise({ name: `${ctx.name}_noise`, level, dt: ctx.dt, distribution, seed: ctx.seed }), u);
  },
};

/** The strategies that ship with @lm/stochastic, by registry name. */
export const builtinStrategies: Record<string, StrategyDefinition<any>> = {
  'stochastic-depth': stochasticDepth,
  'shake-shake': shakeShakeStrategy,
  'additive-noise': additiveNoiseStrategy,
};

/** Registers {@link builtinStrategies} (names already registered are left alone). */
export function registerBuiltinStrategies(registry: Registry): void {
  registry.registerMissing('strategy', builtinStrategies, { provider: '@lm/stochastic' });
}

declare module '@lm/core-blocks' {
  /** `createModel(name, { stochasticDepth: {...}, shakeShake: {...}, additiveNoise: {...} })`. */
  interface StrategyShorthands {
    stochasticDepth?: StochasticDepthOptions;
    shakeShake?: ShakeShakeStrategyOptions;
    additiveNoise?: AdditiveNoiseStrategyOptions;
  }
}
