import { registerBuiltinBlocks } from './blocks/builtins';
import { registry } from './registry';

export { Registry, registry, RegistryError, UnknownEntryError, DuplicateEntryError, ENTRY_KINDS } from './registry';
export type { EntryKind, RegistryEntries } from './registry';
export { loadPlugin, PluginLoadError } from './plugin';
export type { LmPlugin } from './plugin';
export { buildBranch, BranchShapeError } from './block';
export type { BlockDefinition, BranchSpec } from './block';
export type {
  CommonModelOptions,
  ModelDefinition,
  PerturbationContext,
  ResidualFunction,
  ResidualRequest,
  SchemeDefinition,
  SchemeState,
  ShortcutType,
  StepContext,
  StepPosition,
  StrategyDefinition,
} from './contracts';
export { applyLayer, channelsOf, hwcOf } from './symbolic';
export type { SymbolicTensor } from './symbolic';
export { buildShortcut, SHORTCUT_TYPES } from './shortcut';
export type { ShortcutSpec } from './shortcut';
export { builtinBlocks, registerBuiltinBlocks } from './blocks/builtins';
export { basicBlock } from './blocks/basic';
export { preactBasicBlock } from './blocks/preact-basic';
export { preactBottleneckBlock } from './blocks/preact-bottleneck';
export { bottleneckBlock, resnextBlock } from './blocks/bottleneck';
export type { BottleneckOptions } from './blocks/bottleneck';
export { BatchNorm } from './layers/batch-norm';
export type { BatchNormArgs } from './layers/batch-norm';
export { batchNormTrain, hasFusedBatchNormTrain, setBatchNormTrainOverride, BATCH_NORM_TRAIN_KERNEL } from './layers/batch-norm-op';
export type { BatchNormTrainOverride, BatchNormTrainResult } from './layers/batch-norm-op';
export { GroupedConv2D, groupedConv2d } from './layers/grouped-conv2d';
export { ZeroPadShortcut } from './layers/zero-pad-shortcut';
export { WeightedSum } from './layers/weighted-sum';
export { ChannelSlice } from './layers/channel-slice';
export { firstShape, singleInput } from './layers/util';
export { conv, batchNorm, relu, bnRelu, layerSeed } from './layers/ops';
export type { ConvOptions } from './layers/ops';
export { writeFileAtomic } from './io/atomic-write';
export { saveModel, loadModel, readModelArtifacts, modelToArtifacts, ModelFileError } from './io/model-files';

registerBuiltinBlocks(registry);
