/** @lm/trainer: training loop, checkpoints, metrics, reports and the `lm` command. */
export { train } from './train/loop';
export type { TrainOptions, TrainResult } from './train/loop';
export { trainStep } from './train/step';
export type { TrainStepInput } from './train/step';
export { evaluate } from './train/evaluate';
export type { EvaluateOptions } from './train/evaluate';
export { evaluateCheckpoint, locateModel } from './train/evaluate-checkpoint';
export type { EvaluateCheckpointOptions, EvaluateCheckpointResult } from './train/evaluate-checkpoint';
export {
  writeCheckpoint,
  restoreCheckpoint,
  latestCheckpoint,
  readCheckpointState,
  loadWeightsInto,
  checkpointsDir,
  CHECKPOINT_FORMAT,
} from './train/checkpoint';
export type { CheckpointState, CheckpointWriteOptions } from './train/checkpoint';
export { buildModel, trainableParams, weightGroup, kValues, schemeCoefficientNames } from './train/model';
export type { KValue } from './train/model';
export { modelVariants, registerModelVariants, PAPER_STOCHASTIC_DEPTH, SHAKE_SHAKE_BASES } from './train/model-variants';
export { loadPlugins } from './train/plugins';
export { SGD, packSgdState, unpackSgdState } from './optim/sgd';
export type { SgdOptions, SgdParam, SgdState } from './optim/sgd';
export { learningRate, parseSchedule, formatSchedule, SCHEDULE_TYPES } from './optim/schedules';
export type { Schedule, LrOptions, SchedulePosition } from './optim/schedules';
export { PRESETS, PRESET_NAMES, getPreset, DATASET_NAMES } from './presets';
export type { Preset, PresetName, DatasetName } from './presets';
export { resolveConfig, validateConfig, BACKEND_CHOICES, WD_EXCLUDE_GROUPS, EVAL_SPLITS } from './config';
export type { TrainConfig, TrainOverrides, BackendChoice, WdExcludeGroup, EvalSplit } from './config';
export { topKCorrect, softmaxCrossEntropy, MetricAccumulator, summarise, emptySums } from './metrics';
export type { SplitMetrics, MetricSums } from './metrics';
export { selectBackend, chooseBackend, defaultProbes, useCpuBackend } from './backend/select';
export type { BackendName, BackendProbes, BackendSelection, OnednnProbe, TensorflowProbe } from './backend/select';
export { loadData, heldOut } from './data/datasets';
export type { Dataset, Split, Batch, BatchOptions, LoadedData } from './data/datasets';
export { writeReport, readRun, errorCurvesSvg, kValuesSvg } from './report/report';
export type { ReportOptions, ReportResult, RunData } from './report/report';
export { linePanel, barPanel, axes, legend, niceTicks, svgDocument } from './report/svg-plot';
export { createProgress, formatDuration } from './progress';
export type { ProgressSink, ProgressUpdate, ProgressOptions } from './progress';
export { writeMetricsLog, readMetricsLog, formatEpochLine } from './log';
export type { EpochRecord } from './log';
export { OptionError, DivergenceError, InterruptedError } from './errors';
export { StopFlag } from './supervisor/stop-flag';
export type { StopSignal, StopRequestResult } from './supervisor/stop-flag';
export { main } from './cli/main';
export { torchStateDict, encodeSafetensors, ExportError } from './export/safetensors';
export type { TorchTensor } from './export/safetensors';
export { recogniseReferenceArchitecture, referenceModuleName, torchNaming } from './export/reference-names';
export type { ReferenceArchitecture, ReferenceFamily, TorchNaming } from './export/reference-names';
export { DistributedContext, StepReducer, movingStatistics, shardedSplit, trainDistributed, RankMismatchError } from './distributed';
export type { DistributedHooks, DistributedOptions, DistributedTrainOptions } from './distributed';
