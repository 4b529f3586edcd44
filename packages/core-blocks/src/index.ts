import { registerBuiltinBlocks } from './blocks/builtins';
import { registry } from './registry';

export { Registry, registry, RegistryError, UnknownEntryError, DuplicateEntryError, ENTRY_KINDS } from './registry';
export type { EntryKind, RegistryEntries, RegisterOptions } from './registry';
export { addProviderSource, findOptionKeyProvider, findProvider, howToProvide, knownProviders, providerHint } from './providers';
export type { ProviderManifest, ProviderMatch } from './providers';
// in Node, packages installed but not imported tell through their package.json "lm" field what they provide
export { installedProviders } from './installed-providers';
export { strategyOptionKey, strategyOptionKeys, toStrategyChoice } from './strategy-options';
export { buildBranch, BranchShapeError } from './block';
export type { BlockDefinition, BranchSpec } from './block';
export type {
  CommonModelOptions,
  EntryMetadata,
  ModelDefinition,
  PerturbationContext,
  ResidualFunction,
  ResidualRequest,
  SchemeDefinition,
  SchemeMemory,
  SchemeState,
  ShortcutType,
  StepContext,
  StepPosition,
  StrategyChoice,
  StrategyDefinition,
  StrategyShorthands,
} from './contracts';
export { applyLayer, channelsOf, hwcOf, replayChain } from './symbolic';
export { isSchemeCoefficientLayer, schemeCoefficientLayers, schemeCoefficients, schemeCoefficientWeights } from './scheme-coefficients';
export type { CoefficientStorage, LinearMultistepForm, SchemeCoefficient, SchemeCoefficientLayer } from './scheme-coefficients';
export type { SymbolicTensor } from './symbolic';
export { buildShortcut, SHORTCUT_TYPES } from './shortcut';
export type { ShortcutSpec } from './shortcut';
export { builtinBlocks, registerBuiltinBlocks, registerBuiltinBlocks as register } from './blocks/builtins';
export { basicBlock } from './blocks/basic';
export { preactBasicBlock } from './blocks/preact-basic';
export { preactBottleneckBlock, preactResnextBlock } from './blocks/preact-bottleneck';
export { bottleneckBlock, resnextBlock } from './blocks/bottleneck';
export type { BottleneckOptions } from './blocks/bottleneck';
export { BatchNorm } from './layers/batch-norm';
export { foldBatchNorm } from './inference/fold-batch-norm';
export type { FoldedModel } from './inference/fold-batch-norm';
export type { BatchNormActivation, BatchNormArgs } from './layers/batch-norm';
export {
  batchNormInference,
  batchNormTrain,
  hasFusedBatchNormTrain,
  setBatchNormTrainOverride,
  BATCH_NORM_TRAIN_KERNEL,
  BATCH_NORM_RELU_TRAIN_KERNEL,
  BATCH_NORM_RELU_INFERENCE_KERNEL,
} from './layers/batch-norm-op';
export type { BatchNormTrainOverride, BatchNormTrainResult } from './layers/batch-norm-op';
export { MOVING_STATS_UPDATE_KERNEL, updateMovingStats } from './layers/moving-stats-op';
export type { MovingStatsUpdate } from './layers/moving-stats-op';
export { GroupedConv2D, groupedConv2d } from './layers/grouped-conv2d';
export { GROUPED_CONV2D_KERNEL, hasGroupedConv2D } from './layers/grouped-conv-op';
export { ZeroPadShortcut } from './layers/zero-pad-shortcut';
export { WeightedSum, weightedSum } from './layers/weighted-sum';
export { applyReleasing } from './graph/apply-releasing';
export { ChannelSlice } from './layers/channel-slice';
export { firstShape, singleInput } from './layers/util';
export { conv, batchNorm, batchNormRelu, relu, bnRelu, layerSeed } from './layers/ops';
export type { ConvOptions } from './layers/ops';
export { CONV_INITS, CONV_PADDINGS, TFJS_CONV_CONVENTIONS, convKernelInitializer, currentConvConventions, withConvConventions } from './conv-conventions';
export type { ConvConventions } from './conv-conventions';

registerBuiltinBlocks(registry);
