import { registerBuiltinBlocks, registry, type Registry } from '@lm/core-blocks';
import { registerBuiltinModels } from './models/zoo';
import { registerBuiltinSchemes } from './schemes/builtins';

export { createModel, listModels } from './create-model';
export { buildNetwork, schemeMemory, validateNetworkConfig, ModelConfigError } from './build-network';
export type { NetworkConfig } from './build-network';
export { createStepContext } from './step-context';
export type { StepSetup, ResolvedStrategy } from './step-context';
export { builtinModels, networkModel, registerBuiltinModels } from './models/zoo';
export { applyModelOptions, cleanModelOptions, MODEL_OPTION_NAMES, resolveStrategies } from './models/model-options';
export { strategyVariant } from './models/variant';
export type { ModelOptions, NetworkBase } from './models/model-options';
export { builtinSchemes, registerBuiltinSchemes } from './schemes/builtins';
export { forwardEuler } from './schemes/forward-euler';
export { linearMultiStep } from './schemes/linear-multi-step';
export { adamsBashforth2, linearKStep } from './schemes/linear-k-step';
export type { LinearKStepOptions } from './schemes/linear-k-step';
export { LinearKStep } from './layers/linear-k-step';
export type { LinearKStepArgs } from './layers/linear-k-step';
export type { LinearMultiStepOptions } from './schemes/linear-multi-step';
export { rungeKutta2 } from './schemes/runge-kutta2';
export type { RungeKutta2Options } from './schemes/runge-kutta2';
export { approxBackwardEuler } from './schemes/backward-euler';
export type { BackwardEulerOptions } from './schemes/backward-euler';
export { revnetCoupling, invertRevNetStep } from './schemes/revnet';
export { advanceState, eulerUpdate, shortcutEulerStep } from './schemes/euler-update';
export { LinearMultiStep, lmCoefficients, lmStepLayers } from './layers/linear-multi-step';
export type { LinearMultiStepArgs } from './layers/linear-multi-step';
export { CONVENTION_PRESETS, CLASSIFIER_INITS, K_PARAMETRISATIONS, classifierInitializers, resolveConventions } from './conventions';
export type { ConventionsSpec, KParametrisation, ModelConventions } from './conventions';
export { parameterTable, formatParamTable } from './param-table';
export type { ParamRow } from './param-table';

/**
 * Registers the schemes and the model zoo, with the built-in blocks they use, into `target` (names already
 * registered are kept); importing the package does it for the global registry.
 */
export function register(target: Registry): void {
  registerBuiltinBlocks(target);
  registerBuiltinSchemes(target);
  registerBuiltinModels(target);
}

register(registry);
