import { registry } from '@lm/core-blocks';
import { registerBuiltinStrategies } from './strategies';

export { SeededRandom, randomSeed } from './random';
export type { RandomState } from './random';
export { SeededLayer, hasRandomState } from './layers/seeded-layer';
export type { SeededLayerArgs } from './layers/seeded-layer';
export { dropPath, DropPath, survivalProbability, survivalProbabilities } from './drop-path';
export type { DropPathArgs, DropPathMode, DropPathOptions, DropPathScaleAt, SurvivalRule } from './drop-path';
export { shakeShake, ShakeShake, shakeCoefficient, drawShakeCoefficients } from './shake-shake';
export type { ShakeBackward, ShakeDraw, ShakeForward, ShakeLevel, ShakeShakeArgs, ShakeShakeOptions } from './shake-shake';
export { additiveNoise, AdditiveNoise } from './additive-noise';
export type { AdditiveNoiseArgs, AdditiveNoiseOptions, NoiseDistribution } from './additive-noise';
export {
  additiveNoiseStrategy,
  builtinStrategies,
  registerBuiltinStrategies,
  shakeShakeStrategy,
  stochasticDepth,
} from './strategies';
export type { AdditiveNoiseStrategyOptions, ShakeShakeStrategyOptions, StochasticDepthOptions } from './strategies';
export { getModelRandomState, resetModelRandomState, setModelRandomState, stochasticLayers } from './random-state';
export type { ModelRandomState } from './random-state';

/** Registers the strategies into `registry`; importing the package does it for the global registry. */
export { registerBuiltinStrategies as register } from './strategies';

registerBuiltinStrategies(registry);
