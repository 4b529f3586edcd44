import { BACKEND_CHOICES } from '../config';
import { oneOf } from '../errors';
import { DATASET_NAMES } from '../presets';
import { evaluateCheckpoint } from '../train/evaluate-checkpoint';
import { loadPlugins } from '../train/plugins';
import { bool, list, optionHelp, parse, str, type OptionSpecs, type Parsed } from './args';
import { countOrAll, integer, type OptionKind } from '../options/kinds';
import type { Io } from './io';
import { OptionError } from '../errors';
import { dropStepsMarkdown } from '../paper/drop-steps-report';
import { writeDropSteps } from '../paper/drop-steps-files';

export const EVAL_OPTIONS: OptionSpecs = {
  checkpoint: { type: 'string', value: '<dir>', description: 'checkpoint folder, run folder (its latest checkpoint) or saved model folder' },
  dataset: { type: 'string', value: '<name>', description: `one of: ${DATASET_NAMES.join(', ')} (default: the run's)` },
  data: { type: 'string', value: '<path>', description: 'dataset path (default: the run\'s, $LM_CIFAR10_PATH, cache)' },
  'val-data': { type: 'string', value: '<path>', description: 'ImageNet validation folder (default: the run\'s)' },
  split: { type: 'string', value: '<split>', description: 'validation | test | train (default validation)' },
  'val-size': { type: 'string', value: '<n>', description: 'validation images carved from the training set (default: the run\'s)' },
  'batch-size': { type: 'string', value: '<n>', description: 'batch size (default 100)' },
  images: { type: 'string', value: '<n|all>', description: "evaluate at most n images, or 'all' (default all)" },
  backend: { type: 'string', value: '<name>', description: BACKEND_CHOICES.join(' | ') },
  plugin: { type: 'string', multiple: true, value: '<spec>', description: 'plugin to load first; repeatable' },
  json: { type: 'boolean', description: 'print the result as JSON' },
  'drop-steps': { type: 'boolean', description: 'also the error with each residual step removed in turn (transitions kept); table and figure' },
  out: { type: 'string', value: '<dir>', description: 'with --drop-steps: write drop-steps.{md,csv,json,svg} there (default: drop-steps)' },
};

function strict<T>(p: Parsed, name: string, kind: OptionKind<T>): T | undefined {
  const v = str(p, name);
  return v === undefined ? undefined : kind.fromFlag(`--${name}`, v);
}

const pct = (x?: number) => (x === undefined ? '-' : `${(100 * x).toFixed(2)}%`);

export async function evalCommand(argv: string[], io: Io): Promise<number> {
  const p = parse('eval', argv, EVAL_OPTIONS, true);
  if (bool(p, 'help')) {
    io.out(`Usage: lm eval --checkpoint <dir> [options]\n\nTop-1 and top-5 error of a checkpoint on a dataset.\n\nOptions:\n${optionHelp(EVAL_OPTIONS)}\n`);
    return 0;
  }
  await loadPlugins(list(p, 'plugin'));
  const checkpoint = str(p, 'checkpoint') ?? p.positionals[0];
  if (!checkpoint) throw new OptionError('--checkpoint', 'lm eval: --checkpoint <dir> is required (a checkpoint, run folder or saved model)');
  const dataset = str(p, 'dataset');
  const split = str(p, 'split');
  const backend = str(p, 'backend');
  const r = await evaluateCheckpoint({
    checkpoint,
    dataset: dataset === undefined ? undefined : oneOf('--dataset', dataset, DATASET_NAMES),
    data: str(p, 'data'),
    valData: str(p, 'val-data'),
    split: split === undefined ? undefined : oneOf('--split', split, ['validation', 'test', 'train'] as const),
    valSize: strict(p, 'val-size', integer(0, Number.MAX_SAFE_INTEGER)),
    batchSize: strict(p, 'batch-size', integer(1, Number.MAX_SAFE_INTEGER)),
    images: strict(p, 'images', countOrAll()),
    backend: backend === undefined ? undefined : oneOf('--backend', backend, BACKEND_CHOICES),
    log: io.err,
    dropSteps: bool(p, 'drop-steps'),
  });
  if (r.dropSteps) for (const f of writeDropSteps(r.dropSteps, str(p, 'out') ?? 'drop-steps', `${r.split}, ${r.dataset}`)) io.err(`wrote ${f}`);
  if (bool(p, 'json')) io.out(JSON.stringify(r));
  else io.out(`${r.split} (${r.images} images of ${r.dataset}): loss ${r.loss.toFixed(4)} | top-1 error ${pct(r.top1Error)} | top-5 error ${pct(r.top5Error)}`);
  if (r.dropSteps && !bool(p, 'json')) io.out(dropStepsMarkdown(r.dropSteps));
  return 0;
}
