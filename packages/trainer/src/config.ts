import type { ModelOptions } from '@lm/schemes';
import { OptionError, oneOf } from './errors';
import { DATASET_NAMES, type DatasetName, getPreset, PRESET_NAMES } from './presets';
import type { Schedule } from './optim/schedules';
import { SCHEDULE_TYPES } from './optim/schedules';

export const BACKEND_CHOICES = ['auto', 'tensorflow', 'onednn', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** Parameter groups that can be excluded from weight decay. */
export const WD_EXCLUDE_GROUPS = ['norm', 'bias', 'k'] as const;
export type WdExcludeGroup = (typeof WD_EXCLUDE_GROUPS)[number];

/** 'auto': the official test split when the data has one, else a validation set carved from the training set. */
export const EVAL_SPLITS = ['validation', 'test', 'auto'] as const;
export type EvalSplit = (typeof EVAL_SPLITS)[number];

/** Everything a run needs; stored whole in every checkpoint. */
export interface TrainConfig {
  preset: string;
  model: string;
  modelOptions: ModelOptions;
  dataset: DatasetName;
  /** CIFAR archive/folder, or the ImageNet training folder. */
  data?: string;
  /** ImageNet validation folder. */
  valData?: string;
  /** ImageNet crop side (default 224). */
  imageSize?: number;
  /** Allow downloading CIFAR (default true). */
  download: boolean;
  /** Fall back to the synthetic dataset when CIFAR is neither on disk nor downloadable (default true when `data` is unset). */
  syntheticFallback: boolean;
  /** Training images of the synthetic dataset. */
  syntheticSize: number;
  /** Classes of the synthetic dataset (default: 100 for cifar100, else 10). */
  syntheticClasses?: number;
  /** Validation images carved from the training set. */
  valSize: number;
  /** Which held-out split is evaluated each epoch: the carved validation split or the official test split. */
  evalSplit: EvalSplit;
  /** Images visited per training epoch (shuffled subset), 0 = all. */
  trainImages: number;
  /** Images of the held-out split evaluated per epoch, 0 = all. */
  evalImages: number;
  augment: boolean;
  epochs: number;
  batchSize: number;
  evalBatchSize: number;
  lr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  wdExclude: WdExcludeGroup[];
  /** Learning-rate scale of the scheme coefficients k_n (their own parameter group; default 1). */
  coefficientLrScale?: number;
  /** Weight decay of the scheme coefficients (default: the others'; `--wd-exclude k` turns it off). */
  coefficientWeightDecay?: number;
  schedule: Schedule;
  warmupEpochs: number;
  seed: number;
  out: string;
  backend: BackendChoice;
  plugins: string[];
  checkpointMinutes: number;
  /** Hidden: also checkpoint every N global steps (tests). 0 = off. */
  checkpointEverySteps: number;
  keepCheckpoints: number;
}

export type TrainOverrides = Partial<TrainConfig>;

function timestamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace('T', '-');
}

function num(option: string, v: unknown, check: (n: number) => boolean, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) {
    throw new OptionError(option, `${option} must be ${what} (got '${String(v)}')`);
  }
  return v;
}

const int = (o: string, v: unknown, min: number) => num(o, v, (n) => Number.isInteger(n) && n >= min, `an integer ≥ ${min}`);

/** Defaults ← preset ← overrides, then validation. Errors name the option and the allowed values. */
export function resolveConfig(overrides: TrainOverrides = {}): TrainConfig {
  const presetName = overrides.preset ?? 'quick';
  const p = getPreset(presetName);
  const model = overrides.model ?? p.model ?? 'lm-resnet20';
  const c: TrainConfig = {
    preset: presetName,
    model,
    modelOptions: { ...(p.modelOptions ?? {}), ...(overrides.modelOptions ?? {}) },
    dataset: overrides.dataset ?? p.dataset ?? 'cifar10',
    data: overrides.data,
    valData: overrides.valData,
    imageSize: overrides.imageSize,
    download: overrides.download ?? true,
    syntheticFallback: overrides.syntheticFallback ?? overrides.data === undefined,
    syntheticSize: overrides.syntheticSize ?? 10_000,
    syntheticClasses: overrides.syntheticClasses,
    valSize: overrides.valSize ?? p.valSize ?? 5000,
    evalSplit: overrides.evalSplit ?? p.evalSplit ?? 'validation',
    trainImages: overrides.trainImages ?? p.trainImages ?? 0,
    evalImages: overrides.evalImages ?? 0,
    augment: overrides.augment ?? true,
    epochs: overrides.epochs ?? p.epochs,
    batchSize: overrides.batchSize ?? p.batchSize,
    evalBatchSize: overrides.evalBatchSize ?? Math.max(overrides.batchSize ?? p.batchSize, 100),
    lr: overrides.lr ?? p.lr,
    momentum: overrides.momentum ?? p.momentum,
    nesterov: overrides.nesterov ?? false,
    weightDecay: overrides.weightDecay ?? p.weightDecay,
    wdExclude: overrides.wdExclude ?? [],
    coefficientLrScale: overrides.coefficientLrScale ?? p.coefficientLrScale ?? 1,
    coefficientWeightDecay: overrides.coefficientWeightDecay ?? p.coefficientWeightDecay,
    schedule: overrides.schedule ?? p.schedule,
    warmupEpochs: overrides.warmupEpochs ?? p.warmupEpochs ?? 0,
    seed: overrides.seed ?? 0,
    out: overrides.out ?? `runs/${model}-${timestamp()}`,
    backend: overrides.backend ?? 'auto',
    plugins: overrides.plugins ?? [],
    checkpointMinutes: overrides.checkpointMinutes ?? 10,
    checkpointEverySteps: overrides.checkpointEverySteps ?? 0,
    keepCheckpoints: overrides.keepCheckpoints ?? 2,
  };
  validateConfig(c);
  return c;
}

export function validateConfig(c: TrainConfig): void {
  oneOf('--preset', c.preset, PRESET_NAMES);
  oneOf('--dataset', c.dataset, DATASET_NAMES);
  oneOf('--backend', c.backend, BACKEND_CHOICES);
  oneOf('--eval-split', c.evalSplit, EVAL_SPLITS);
  if (typeof c.model !== 'string' || !c.model) throw new OptionError('--model', `--model must be a model name (see \`lm models\`)`);
  for (const g of c.wdExclude) oneOf('--wd-exclude', g, WD_EXCLUDE_GROUPS);
  oneOf('--schedule', c.schedule?.type, SCHEDULE_TYPES);
  int('--epochs', c.epochs, 1);
  int('--batch-size', c.batchSize, 1);
  int('--eval-batch-size', c.evalBatchSize, 1);
  num('--lr', c.lr, (n) => n > 0, 'a positive number');
  num('--momentum', c.momentum, (n) => n >= 0 && n < 1, 'a number in [0, 1)');
  num('--weight-decay', c.weightDecay, (n) => n >= 0, 'a number ≥ 0');
  num('--coefficient-lr-scale', c.coefficientLrScale ?? 1, (n) => n >= 0, 'a number ≥ 0');
  if (c.coefficientWeightDecay !== undefined) num('--coefficient-weight-decay', c.coefficientWeightDecay, (n) => n >= 0, 'a number ≥ 0');
  num('--warmup-epochs', c.warmupEpochs, (n) => n >= 0, 'a number ≥ 0');
  int('--seed', c.seed, 0);
  if (c.imageSize !== undefined) int('--image-size', c.imageSize, 8);
  int('--val-size', c.valSize, 0);
  int('--train-images', c.trainImages, 0);
  int('--eval-images', c.evalImages, 0);
  int('--synthetic-size', c.syntheticSize, 2);
  num('--checkpoint-minutes', c.checkpointMinutes, (n) => n > 0, 'a positive number of minutes');
  int('--checkpoint-every-steps', c.checkpointEverySteps, 0);
  int('--keep-checkpoints', c.keepCheckpoints, 1);
  if (c.nesterov && c.momentum === 0) throw new OptionError('--nesterov', '--nesterov needs --momentum > 0');
  if (c.schedule.type === 'step') {
    for (const m of c.schedule.milestones) int('--schedule', m, 0);
  }
  if (c.dataset === 'imagenet' && !c.data) {
    throw new OptionError('--data', '--data must name the ImageNet training folder (one sub-folder per class) for --dataset imagenet');
  }
}
