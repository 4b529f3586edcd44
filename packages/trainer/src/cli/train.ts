import { BACKEND_CHOICES, EVAL_SPLITS, WD_EXCLUDE_GROUPS, type TrainOverrides, type WdExcludeGroup } from '../config';
import { OptionError, oneOf } from '../errors';
import { parseSchedule } from '../optim/schedules';
import { DATASET_NAMES, PRESETS, PRESET_NAMES } from '../presets';
import { train } from '../train/loop';
import { trainDistributed } from '../distributed/command';
import { bool, json, list, number, optionHelp, parse, str, type OptionSpecs } from './args';
import type { Io } from './io';

export const TRAIN_OPTIONS: OptionSpecs = {
  model: { type: 'string', value: '<name>', description: 'model from `lm models` (default: the preset\'s, lm-resnet20 for quick)' },
  'model-options': { type: 'string', value: '<json>', description: 'createModel options, e.g. \'{"stochasticDepth":{"pL":0.8}}\'' },
  dataset: { type: 'string', value: '<name>', description: `one of: ${DATASET_NAMES.join(', ')} (default: the preset's)` },
  data: { type: 'string', value: '<path>', description: 'CIFAR archive or folder / ImageNet train folder (default: $LM_CIFAR10, cache, download)' },
  'val-data': { type: 'string', value: '<path>', description: 'ImageNet validation folder' },
  'image-size': { type: 'string', value: '<px>', description: 'ImageNet crop side (default 224)' },
  'no-download': { type: 'boolean', description: 'never download CIFAR' },
  'synthetic-size': { type: 'string', value: '<n>', description: 'training images of the synthetic dataset (default 10000)' },
  'val-size': { type: 'string', value: '<n>', description: 'validation images carved from the training set (default 5000)' },
  'eval-split': { type: 'string', value: '<split>', description: `held-out split evaluated each epoch: ${EVAL_SPLITS.join(', ')} (default validation)` },
  'train-images': { type: 'string', value: '<n>', description: 'images per training epoch, a shuffled subset (default: all; quick: 20000)' },
  'eval-images': { type: 'string', value: '<n>', description: 'held-out images evaluated per epoch (default: all)' },
  'no-augment': { type: 'boolean', description: 'no random crop and flip' },
  preset: { type: 'string', value: '<name>', description: `recipe: ${PRESET_NAMES.join(', ')} (default quick)` },
  epochs: { type: 'string', value: '<n>', description: 'epochs' },
  'batch-size': { type: 'string', value: '<n>', description: 'training batch size' },
  'eval-batch-size': { type: 'string', value: '<n>', description: 'evaluation batch size' },
  lr: { type: 'string', value: '<x>', description: 'base learning rate' },
  momentum: { type: 'string', value: '<x>', description: 'SGD momentum (default 0.9)' },
  nesterov: { type: 'boolean', description: 'Nesterov momentum' },
  'weight-decay': { type: 'string', value: '<x>', description: 'weight decay, PyTorch semantics (added to the gradient)' },
  'wd-exclude': { type: 'string', value: '<groups>', description: `comma list of ${WD_EXCLUDE_GROUPS.join(', ')}: no weight decay on BN γ/β, biases, k_n` },
  schedule: { type: 'string', value: '<spec>', description: 'constant | step:<e1>,<e2>[:<gamma>] | cosine[:<min lr>]' },
  'warmup-epochs': { type: 'string', value: '<n>', description: 'linear learning-rate warm-up, in epochs' },
  seed: { type: 'string', value: '<n>', description: 'seed of initialisation, shuffling and augmentation (default 0)' },
  out: { type: 'string', value: '<dir>', description: 'run folder (default runs/<model>-<timestamp>)' },
  backend: { type: 'string', value: '<name>', description: `${BACKEND_CHOICES.join(' | ')} (default auto: tensorflow, onednn, cpu)` },
  plugin: { type: 'string', multiple: true, value: '<spec>', description: 'plugin module (npm name or file) to load first; repeatable' },
  'checkpoint-minutes': { type: 'string', value: '<m>', description: 'checkpoint every m minutes (default 10) and at every epoch end' },
  'checkpoint-every-steps': { type: 'string', value: '<n>', description: 'also checkpoint every n steps', hidden: true },
  'keep-checkpoints': { type: 'string', value: '<n>', description: 'checkpoints kept (default 2)' },
  resume: { type: 'string', value: '[dir]', description: 'continue the run in dir (or --out) from its latest checkpoint' },
  progress: { type: 'string', value: '<mode>', description: 'auto | bar | lines | silent (default auto: a bar on a terminal)' },
  distributed: { type: 'boolean', description: 'data-parallel: one rank of `mpirun -np N` / `srun`; the global --batch-size is split over ranks' },
  'sync-bn': { type: 'boolean', description: 'with --distributed: batch-norm statistics of the global batch (synchronised over ranks)' },
};

export function trainHelp(): string {
  const presets = PRESET_NAMES.map((n) => `  ${n.padEnd(24)}${PRESETS[n].description}`).join('\n');
  return `Usage: lm train [options]

Trains a model; with no options, LM-ResNet-20 on CIFAR-10 with the quick preset (synthetic data when offline).

Options:
${optionHelp(TRAIN_OPTIONS)}

Presets:
${presets}
`;
}

/** `--resume` with no value: use the --out folder. */
function normaliseResume(argv: string[]): string[] {
  return argv.map((a, i) => (a === '--resume' && (i === argv.length - 1 || argv[i + 1]!.startsWith('-')) ? '--resume=' : a));
}

/** Turns parsed flags into config overrides (only the flags given, so presets fill the rest). */
export function trainOverrides(argv: string[]): { overrides: TrainOverrides; resume?: string | boolean; progress?: string; help: boolean } {
  const p = parse('train', normaliseResume(argv), TRAIN_OPTIONS);
  const o: TrainOverrides = {};
  const set = <K extends keyof TrainOverrides>(k: K, v: TrainOverrides[K] | undefined) => {
    if (v !== undefined) o[k] = v;
  };
  set('model', str(p, 'model'));
  set('modelOptions', json(p, 'model-options'));
  const dataset = str(p, 'dataset');
  if (dataset !== undefined) o.dataset = oneOf('--dataset', dataset, DATASET_NAMES);
  set('data', str(p, 'data'));
  set('valData', str(p, 'val-data'));
  set('imageSize', number(p, 'image-size', 'integer'));
  if (bool(p, 'no-download')) o.download = false;
  set('syntheticSize', number(p, 'synthetic-size', 'integer'));
  set('valSize', number(p, 'val-size', 'integer'));
  const evalSplit = str(p, 'eval-split');
  if (evalSplit !== undefined) o.evalSplit = oneOf('--eval-split', evalSplit, EVAL_SPLITS);
  set('trainImages', number(p, 'train-images', 'integer'));
  set('evalImages', number(p, 'eval-images', 'integer'));
  if (bool(p, 'no-augment')) o.augment = false;
  const preset = str(p, 'preset');
  if (preset !== undefined) o.preset = oneOf('--preset', preset, PRESET_NAMES);
  set('epochs', number(p, 'epochs', 'integer'));
  set('batchSize', number(p, 'batch-size', 'integer'));
  set('evalBatchSize', number(p, 'eval-batch-size', 'integer'));
  set('lr', number(p, 'lr'));
  set('momentum', number(p, 'momentum'));
  if (bool(p, 'nesterov')) o.nesterov = true;
  set('weightDecay', number(p, 'weight-decay'));
  const wd = str(p, 'wd-exclude');
  if (wd !== undefined) o.wdExclude = wd.split(',').filter(Boolean).map((g) => oneOf('--wd-exclude', g, WD_EXCLUDE_GROUPS)) as WdExcludeGroup[];
  const schedule = str(p, 'schedule');
  if (schedule !== undefined) o.schedule = parseSchedule(schedule);
  set('warmupEpochs', number(p, 'warmup-epochs'));
  set('seed', number(p, 'seed', 'integer'));
  set('out', str(p, 'out'));
  const backend = str(p, 'backend');
  if (backend !== undefined) o.backend = oneOf('--backend', backend, BACKEND_CHOICES);
  const plugins = list(p, 'plugin');
  if (plugins.length) o.plugins = plugins;
  set('checkpointMinutes', number(p, 'checkpoint-minutes'));
  set('checkpointEverySteps', number(p, 'checkpoint-every-steps', 'integer'));
  set('keepCheckpoints', number(p, 'keep-checkpoints', 'integer'));
  const progress = str(p, 'progress');
  if (progress !== undefined) oneOf('--progress', progress, ['auto', 'bar', 'lines', 'silent']);
  const resumeRaw = str(p, 'resume');
  let resume: string | boolean | undefined;
  if (resumeRaw !== undefined) {
    resume = resumeRaw === '' ? true : resumeRaw;
    if (resume === true && !o.out) throw new OptionError('--resume', '--resume needs a run folder: lm train --resume <dir> (or --resume --out <dir>)');
  }
  return { overrides: o, resume, progress, help: bool(p, 'help') ?? false };
}

export async function trainCommand(argv: string[], io: Io): Promise<number> {
  const { overrides, resume, progress, help } = trainOverrides(argv);
  if (help) {
    io.out(trainHelp());
    return 0;
  }
  if (argv.includes('--distributed')) return (await trainDistributed(overrides, { resume, progress, syncBn: argv.includes('--sync-bn') || undefined }, io)).code;
  const r = await train(overrides, { resume, progress: (progress as 'auto') ?? 'auto', log: io.out, handleSignals: true });
  r.model.dispose();
  return 0;
}
