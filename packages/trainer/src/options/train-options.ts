/**
 * Every `lm train` option, declared once: its config key, command-line flag, kind (parser and validation),
 * default, help text and whether `--resume` can honour a new value. The CLI table (`TRAIN_OPTIONS`), the
 * flag-to-config mapping (`trainOverrides`), the config type (`TrainConfig`) and `resolveConfig` /
 * `validateConfig` are all derived from `TRAIN_OPTION_TABLE`. To add an option, add one entry here.
 */
import type { ModelOptions } from '@lm/schemes';
import { OptionError } from '../errors';
import { parseSchedule, type Schedule, SCHEDULE_TYPES } from '../optim/schedules';
import { DATASET_NAMES, PRESET_NAMES, type Preset } from '../presets';
import { checkModelOptions, SEED_MAX } from './model-options';
import { choice, choiceList, countOrAll, decimal, fail, flag, integer, jsonObject, type OptionKind, text, textList } from './kinds';

export const BACKEND_CHOICES = ['auto', 'tensorflow', 'onednn', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** Parameter groups that can be excluded from weight decay. */
export const WD_EXCLUDE_GROUPS = ['norm', 'bias', 'k'] as const;
export type WdExcludeGroup = (typeof WD_EXCLUDE_GROUPS)[number];

/** 'auto': the official test split when the data has one, else a validation set carved from the training set. */
export const EVAL_SPLITS = ['validation', 'test', 'auto'] as const;
export type EvalSplit = (typeof EVAL_SPLITS)[number];

/** What a default may depend on: the preset, the options given, and the options resolved before it (table order). */
export interface DefaultContext {
  preset: Preset;
  given: Readonly<Record<string, unknown>>;
  resolved: Readonly<Record<string, unknown>>;
}

export interface TrainOptionDef<T> {
  kind: OptionKind<T>;
  /** Command-line name without `--`; none: API and config files only. */
  flag?: string;
  /** Repeatable flag (`--plugin a --plugin b`). */
  multiple?: boolean;
  help?: string;
  /** Not listed in --help (test hooks). */
  hidden?: boolean;
  /** The value when not given; absent: the option may stay unset (then `optional: true`). */
  default?: (d: DefaultContext) => NoInfer<T>;
  optional?: true;
  /** An object option merged over its default (`--model-options` over the preset's) instead of replacing it. */
  mergeOverDefault?: true;
  /** `honoured`: `--resume` applies a new value; `refused`: a new value with `--resume` is an error naming the flag. */
  onResume: 'honoured' | 'refused';
}

/** Keeps `optional: true` in the entry's type, so that {@link TrainConfig} makes that key optional. */
function def<T>(d: TrainOptionDef<T> & { optional: true }): TrainOptionDef<T> & { optional: true };
function def<T>(d: TrainOptionDef<T>): TrainOptionDef<T>;
function def<T>(d: TrainOptionDef<T>): TrainOptionDef<T> {
  return d;
}

const INT_MAX = Number.MAX_SAFE_INTEGER;

function timestamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace('T', '-');
}

/** A schedule as text (`step:80,120:0.1`) on the command line, as data (`{type, milestones, gamma}`) elsewhere. */
const scheduleKind: OptionKind<Schedule> = {
  placeholder: '<spec>',
  fromFlag: (option, s) => scheduleKind.check(option, parseSchedule(s)),
  check(option, v) {
    const s = v as Record<string, unknown> | null;
    if (s === null || typeof s !== 'object') fail(option, `a schedule (${SCHEDULE_TYPES.join(', ')})`, v);
    const type = s.type;
    if (!(SCHEDULE_TYPES as readonly unknown[]).includes(type)) {
      throw new OptionError(option, `${option} must be one of: ${SCHEDULE_TYPES.join(', ')} (got '${String(type)}')`);
    }
    if (type === 'step') {
      const ms = s.milestones;
      if (!Array.isArray(ms) || ms.some((m) => !Number.isSafeInteger(m) || (m as number) < 0)) fail(`${option} milestones`, 'a list of integer epochs ≥ 0', ms);
      if (s.gamma !== undefined && !(typeof s.gamma === 'number' && Number.isFinite(s.gamma) && s.gamma > 0)) fail(`${option} gamma`, 'a positive number', s.gamma);
    }
    if (type === 'cosine' && s.minLr !== undefined && !(typeof s.minLr === 'number' && Number.isFinite(s.minLr) && s.minLr >= 0)) {
      fail(`${option} minimum rate`, 'a number ≥ 0', s.minLr);
    }
    return s as Schedule;
  },
};

export const TRAIN_OPTION_TABLE = {
  model: def({ kind: text('<name>'), flag: 'model', help: "model from `lm models` (default: the preset's, lm-resnet20 for quick)", default: (d) => d.preset.model ?? 'lm-resnet20', onResume: 'refused' }),
  modelOptions: def<ModelOptions>({
    kind: jsonObject('{"stochasticDepth":{"pL":0.8}}', checkModelOptions),
    flag: 'model-options',
    help: 'createModel options, e.g. \'{"stochasticDepth":{"pL":0.8}}\'',
    default: (d) => ({ ...(d.preset.modelOptions ?? {}) }),
    mergeOverDefault: true,
    onResume: 'refused',
  }),
  dataset: def({ kind: choice(DATASET_NAMES), flag: 'dataset', help: `one of: ${DATASET_NAMES.join(', ')} (default: the preset's)`, default: (d) => d.preset.dataset ?? 'cifar10', onResume: 'refused' }),
  data: def({ kind: text('<path>'), flag: 'data', help: 'CIFAR archive or folder / ImageNet train folder (default: $LM_CIFAR10_PATH, cache, download)', optional: true, onResume: 'honoured' }),
  valData: def({ kind: text('<path>'), flag: 'val-data', help: 'ImageNet validation folder', optional: true, onResume: 'honoured' }),
  imageSize: def({ kind: integer(8, 1024), flag: 'image-size', help: 'ImageNet crop side in pixels, 8-1024 (default 224)', optional: true, onResume: 'refused' }),
  download: def({ kind: flag(false), flag: 'no-download', help: 'never download CIFAR', default: () => true, onResume: 'honoured' }),
  /** Synthetic data when CIFAR is neither on disk nor downloadable: only for the bare default (no --dataset, --preset or --data). */
  syntheticFallback: def({ kind: flag(true), default: (d) => d.given.dataset === undefined && d.given.preset === undefined && d.given.data === undefined, onResume: 'refused' }),
  syntheticSize: def({ kind: integer(2, 10_000_000), flag: 'synthetic-size', help: 'training images of the synthetic dataset (default 10000)', default: () => 10_000, onResume: 'refused' }),
  /** Classes of the synthetic dataset (default: 100 for cifar100, else 10). */
  syntheticClasses: def({ kind: integer(2, 100_000), optional: true, onResume: 'refused' }),
  valSize: def({ kind: integer(0, INT_MAX), flag: 'val-size', help: 'validation images carved from the training set (default 5000)', default: (d) => d.preset.valSize ?? 5000, onResume: 'refused' }),
  evalSplit: def({ kind: choice(EVAL_SPLITS, '<split>'), flag: 'eval-split', help: `held-out split evaluated each epoch: ${EVAL_SPLITS.join(', ')} (default: the preset's, else validation)`, default: (d) => d.preset.evalSplit ?? 'validation', onResume: 'refused' }),
  trainImages: def({ kind: countOrAll(), flag: 'train-images', help: "images per training epoch, a shuffled subset, or 'all' (default: all; quick: 20000)", default: (d) => d.preset.trainImages ?? 'all', onResume: 'refused' }),
  evalImages: def({ kind: countOrAll(), flag: 'eval-images', help: "held-out images evaluated per epoch, or 'all' (default: all)", default: () => 'all' as const, onResume: 'refused' }),
  augment: def({ kind: flag(false), flag: 'no-augment', help: 'no random crop and flip', default: () => true, onResume: 'refused' }),
  preset: def({ kind: choice(PRESET_NAMES), flag: 'preset', help: `recipe: ${PRESET_NAMES.join(', ')} (default quick)`, default: () => 'quick' as const, onResume: 'refused' }),
  epochs: def({ kind: integer(1, INT_MAX), flag: 'epochs', help: 'epochs (with --resume: extend the run to this many)', default: (d) => d.preset.epochs, onResume: 'honoured' }),
  batchSize: def({ kind: integer(1, INT_MAX), flag: 'batch-size', help: 'training batch size', default: (d) => d.preset.batchSize, onResume: 'refused' }),
  evalBatchSize: def({ kind: integer(1, INT_MAX), flag: 'eval-batch-size', help: 'evaluation batch size (default: the batch size, at least 100)', default: (d) => Math.max(d.resolved.batchSize as number, 100), onResume: 'refused' }),
  lr: def({ kind: decimal('a positive number', (n) => n > 0), flag: 'lr', help: 'base learning rate', default: (d) => d.preset.lr, onResume: 'refused' }),
  momentum: def({ kind: decimal('a number in [0, 1)', (n) => n >= 0 && n < 1), flag: 'momentum', help: 'SGD momentum (default 0.9)', default: (d) => d.preset.momentum, onResume: 'refused' }),
  nesterov: def({ kind: flag(true), flag: 'nesterov', help: 'Nesterov momentum', default: () => false, onResume: 'refused' }),
  weightDecay: def({ kind: decimal('a number ≥ 0', (n) => n >= 0), flag: 'weight-decay', help: 'weight decay, PyTorch semantics (added to the gradient)', default: (d) => d.preset.weightDecay, onResume: 'refused' }),
  wdExclude: def<WdExcludeGroup[]>({ kind: choiceList(WD_EXCLUDE_GROUPS), flag: 'wd-exclude', help: `comma list of ${WD_EXCLUDE_GROUPS.join(', ')}: no weight decay on BN γ/β, biases, k_n`, default: () => [], onResume: 'refused' }),
  coefficientLrScale: def({ kind: decimal('a number ≥ 0', (n) => n >= 0), flag: 'coefficient-lr-scale', help: 'learning-rate scale of the scheme coefficients k_n (default 1)', default: (d) => d.preset.coefficientLrScale ?? 1, onResume: 'refused' }),
  coefficientWeightDecay: def({ kind: decimal('a number ≥ 0', (n) => n >= 0), flag: 'coefficient-weight-decay', help: "weight decay of the scheme coefficients k_n (default: the others')", default: (d) => d.preset.coefficientWeightDecay as number, optional: true, onResume: 'refused' }),
  schedule: def({ kind: scheduleKind, flag: 'schedule', help: 'constant | step:<e1>,<e2>[:<gamma>] | cosine[:<min lr>]', default: (d) => d.preset.schedule, onResume: 'refused' }),
  warmupEpochs: def({ kind: decimal('a number of epochs in [0, 10000]', (n) => n >= 0 && n <= 10_000, '<n>'), flag: 'warmup-epochs', help: 'linear learning-rate warm-up in epochs, at most --epochs', default: (d) => d.preset.warmupEpochs ?? 0, onResume: 'refused' }),
  seed: def({ kind: integer(0, SEED_MAX), flag: 'seed', help: `seed of initialisation, shuffling and augmentation, an integer in [0, ${SEED_MAX}] (default 0)`, default: () => 0, onResume: 'refused' }),
  out: def({ kind: text('<dir>'), flag: 'out', help: 'run folder, new or empty (default runs/<model>-<timestamp>)', default: (d) => `runs/${d.resolved.model as string}-${timestamp()}`, onResume: 'refused' }),
  backend: def({ kind: choice(BACKEND_CHOICES), flag: 'backend', help: `${BACKEND_CHOICES.join(' | ')} (default auto: tensorflow, onednn, cpu)`, default: () => 'auto' as const, onResume: 'honoured' }),
  plugins: def({ kind: textList('<spec>'), flag: 'plugin', multiple: true, help: 'plugin module (npm name or file) to load first; repeatable', default: () => [], onResume: 'honoured' }),
  checkpointMinutes: def({ kind: decimal('a positive number of minutes', (n) => n > 0 && n <= 1e6, '<m>'), flag: 'checkpoint-minutes', help: 'checkpoint every m minutes (default 10) and at every epoch end', default: () => 10, onResume: 'honoured' }),
  /** Also checkpoint every N global steps (tests); 0 = off. */
  checkpointEverySteps: def({ kind: integer(0, INT_MAX), flag: 'checkpoint-every-steps', help: 'also checkpoint every n steps (0: off)', hidden: true, default: () => 0, onResume: 'honoured' }),
  keepCheckpoints: def({ kind: integer(1, 1_000_000), flag: 'keep-checkpoints', help: 'checkpoints kept (default 2; the newest verified one is never removed)', default: () => 2, onResume: 'honoured' }),
} satisfies Record<string, TrainOptionDef<any>>;

type Table = typeof TRAIN_OPTION_TABLE;
type ValueOf<D> = D extends TrainOptionDef<infer T> ? T : never;
type OptionalKey = { [K in keyof Table]: Table[K] extends { optional: true } ? K : never }[keyof Table];
type Simplify<T> = { [K in keyof T]: T[K] };

/** Everything a run needs; stored whole in every checkpoint. Derived from {@link TRAIN_OPTION_TABLE}. */
export type TrainConfig = Simplify<{ -readonly [K in Exclude<keyof Table, OptionalKey>]: ValueOf<Table[K]> } & { -readonly [K in OptionalKey]?: ValueOf<Table[K]> }>;
export type TrainConfigKey = keyof TrainConfig;

export const TRAIN_CONFIG_KEYS = Object.keys(TRAIN_OPTION_TABLE) as TrainConfigKey[];

/** The name an error uses for a config key: its flag (`--batch-size`), or the key for API-only options. */
export function optionName(key: TrainConfigKey): string {
  const d = TRAIN_OPTION_TABLE[key] as TrainOptionDef<unknown>;
  return d.flag ? `--${d.flag}` : key;
}

export function optionDef(key: TrainConfigKey): TrainOptionDef<unknown> {
  return TRAIN_OPTION_TABLE[key] as TrainOptionDef<unknown>;
}
