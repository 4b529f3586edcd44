import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { loadModel } from '@lm/core-blocks/node';
import '@lm/schemes';
import '@lm/stochastic';
import { resolveConfig, type BackendChoice, type EvalSplit, type TrainConfig } from '../config';
import { CheckpointError, OptionError } from '../errors';
import { selectBackend, type BackendProbes } from '../backend/select';
import { loadData } from '../data/datasets';
import type { DatasetName } from '../presets';
import type { SplitMetrics } from '../metrics';
import { checkpointsDir, chooseCheckpoint, describeFallback, isCheckpointFolder, readCheckpointState, verifyCheckpoint } from './checkpoint';
import { evaluate } from './evaluate';
import { loadPlugins } from './plugins';
import { readTestSplit } from '../paper/test-only-archive';
import { evaluateDroppedSteps, type DropStepsResult } from '../paper/drop-steps-report';

export interface EvaluateCheckpointOptions {
  /** A checkpoint folder, a run folder (its latest checkpoint, else its final `model/`), or a saved model folder. */
  checkpoint: string;
  dataset?: DatasetName;
  data?: string;
  /** ImageNet validation folder (default: the run's). */
  valData?: string;
  split?: EvalSplit | 'train';
  valSize?: number;
  batchSize?: number;
  /** At most this many images (default 'all'). */
  images?: number | 'all';
  backend?: BackendChoice;
  plugins?: string[];
  log?: (line: string) => void;
  backendProbes?: BackendProbes;
  keepBackend?: boolean;
  /** Also evaluate with each residual step removed in turn (`lm eval --drop-steps`). */
  dropSteps?: boolean;
}

export interface EvaluateCheckpointResult extends SplitMetrics {
  split: string;
  modelDir: string;
  dataset: string;
  epoch?: number;
  dropSteps?: DropStepsResult;
}

/** Finds the model folder and the run's config for a checkpoint, run folder or model folder. */
export function locateModel(path: string, warn: (line: string) => void = () => {}): { modelDir: string; config?: TrainConfig; epoch?: number } {
  const p = resolve(path);
  if (isCheckpointFolder(p)) {
    const v = verifyCheckpoint(p);
    if (!v.ok) throw new CheckpointError(p, `${v.reason}; evaluate another checkpoint of the run, or the run folder ${dirname(dirname(p))} (its newest checkpoint that verifies)`);
    const s = readCheckpointState(p);
    return { modelDir: join(p, 'model'), config: s.config, epoch: s.epoch };
  }
  const runDir = basename(p) === 'checkpoints' ? dirname(p) : p;
  if (existsSync(checkpointsDir(runDir))) {
    const choice = chooseCheckpoint(runDir);
    for (const line of describeFallback(choice)) warn(line);
    if (choice.path) {
      const s = readCheckpointState(choice.path);
      return { modelDir: join(choice.path, 'model'), config: s.config, epoch: s.epoch };
    }
    if (!existsSync(join(runDir, 'model', 'model.json'))) {
      throw new CheckpointError(runDir, `no checkpoint verifies${choice.skipped.length ? ` (${choice.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})` : ''} and there is no final model/`);
    }
  }
  for (const dir of [p, join(p, 'model')]) {
    if (existsSync(join(dir, 'model.json'))) {
      const cfgFile = [join(dirname(dir), 'config.json'), join(dir, 'config.json')].find((f) => existsSync(f));
      return { modelDir: dir, config: cfgFile ? readConfigFile(cfgFile) : undefined };
    }
  }
  throw new OptionError('--checkpoint', `--checkpoint '${path}' is not a checkpoint, run folder or saved model (no state.json or model.json found)`);
}

function readConfigFile(file: string): TrainConfig {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as TrainConfig;
  } catch (e) {
    throw new CheckpointError(file, `not valid JSON (${(e as Error).message}); the run's config is damaged`);
  }
}

/** Top-1/top-5 error (and loss) of a saved checkpoint on a dataset split. */
export async function evaluateCheckpoint(o: EvaluateCheckpointOptions): Promise<EvaluateCheckpointResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const found = locateModel(o.checkpoint, log);
  const saved = found.config;
  await loadPlugins([...(saved?.plugins ?? []), ...(o.plugins ?? [])]);
  if (!o.keepBackend) log((await selectBackend(o.backend ?? 'auto', o.backendProbes)).line);
  const split = o.split ?? 'validation';
  const config = resolveConfig({
    ...(saved ? { preset: saved.preset, model: saved.model, seed: saved.seed, syntheticSize: saved.syntheticSize, syntheticClasses: saved.syntheticClasses } : {}),
    // never evaluate on stand-in data unless asked for the synthetic dataset
    syntheticFallback: false,
    dataset: o.dataset ?? saved?.dataset ?? 'cifar10',
    data: o.data ?? (o.dataset === undefined || o.dataset === saved?.dataset ? saved?.data : undefined),
    valData: o.valData ?? (o.dataset === undefined || o.dataset === saved?.dataset ? saved?.valData : undefined),
    imageSize: saved?.imageSize,
    valSize: o.valSize ?? saved?.valSize,
    evalSplit: split === 'test' ? 'test' : 'validation',
    out: '.',
  });
  // --split test --data <archive>: the archive may hold only the test batch; normalise as in training
  const testArchive = split === 'test' && o.data && o.data !== saved?.data && (config.dataset === 'cifar10' || config.dataset === 'cifar100') ? o.data : undefined;
  // the training data of the run (its normalisation), with the saved --data or none
  const trainingData = testArchive
    ? { ...config, dataset: saved?.dataset ?? config.dataset, data: saved?.data, evalSplit: saved?.evalSplit ?? config.evalSplit }
    : config;
  const data = await loadData(trainingData, { progress: 'silent' });
  if (data.notice) log(data.notice);
  const ds = data.dataset;
  const norm = ds as { mean?: [number, number, number]; std?: [number, number, number] };
  const target = testArchive
    ? await readTestSplit(testArchive, config.dataset as 'cifar10', { mean: norm.mean!, std: norm.std! }, ds.numClasses)
    : split === 'train' ? ds.train : split === 'test' ? ds.test : ds.validation;
  if (!target) {
    throw new OptionError('--split', `--split ${split}: this dataset has no ${split} split; choose one of: train${ds.validation ? ', validation' : ''}${ds.test ? ', test' : ''}`);
  }
  const model = await loadModel(found.modelDir);
  try {
    const evalOptions = { batchSize: o.batchSize ?? 100, numClasses: ds.numClasses, maxImages: o.images === undefined || o.images === 'all' ? 0 : o.images };
    const m = await evaluate(model, target, evalOptions);
    const dropSteps = o.dropSteps ? await evaluateDroppedSteps(model, target, evalOptions, m) : undefined;
    return { ...m, split, modelDir: found.modelDir, dataset: testArchive ? `${data.description.split(' from ')[0]} test batch of ${testArchive}` : data.description, epoch: found.epoch, ...(dropSteps ? { dropSteps } : {}) };
  } finally {
    model.dispose();
  }
}
