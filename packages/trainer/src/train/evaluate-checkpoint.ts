import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadModel } from '@lm/core-blocks/node';
import '@lm/schemes';
import '@lm/stochastic';
import { resolveConfig, type BackendChoice, type EvalSplit, type TrainConfig } from '../config';
import { OptionError } from '../errors';
import { selectBackend, type BackendProbes } from '../backend/select';
import { loadData } from '../data/datasets';
import type { DatasetName } from '../presets';
import type { SplitMetrics } from '../metrics';
import { latestCheckpoint, readCheckpointState } from './checkpoint';
import { evaluate } from './evaluate';
import { loadPlugins } from './plugins';

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
  /** At most this many images (0 = all). */
  images?: number;
  backend?: BackendChoice;
  plugins?: string[];
  log?: (line: string) => void;
  backendProbes?: BackendProbes;
  keepBackend?: boolean;
}

export interface EvaluateCheckpointResult extends SplitMetrics {
  split: string;
  modelDir: string;
  dataset: string;
  epoch?: number;
}

/** Finds the model folder and the run's config for a checkpoint, run folder or model folder. */
export function locateModel(path: string): { modelDir: string; config?: TrainConfig; epoch?: number } {
  const p = resolve(path);
  const ckpt = latestCheckpoint(p);
  if (ckpt) {
    const s = readCheckpointState(ckpt);
    return { modelDir: join(ckpt, 'model'), config: s.config, epoch: s.epoch };
  }
  for (const dir of [p, join(p, 'model')]) {
    if (existsSync(join(dir, 'model.json'))) {
      const cfgFile = [join(dirname(dir), 'config.json'), join(dir, 'config.json')].find((f) => existsSync(f));
      return { modelDir: dir, config: cfgFile ? (JSON.parse(readFileSync(cfgFile, 'utf8')) as TrainConfig) : undefined };
    }
  }
  throw new OptionError('--checkpoint', `--checkpoint '${path}' is not a checkpoint, run folder or saved model (no state.json or model.json found)`);
}

/** Top-1/top-5 error (and loss) of a saved checkpoint on a dataset split. */
export async function evaluateCheckpoint(o: EvaluateCheckpointOptions): Promise<EvaluateCheckpointResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const found = locateModel(o.checkpoint);
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
  const data = await loadData(config, { progress: 'silent' });
  if (data.notice) log(data.notice);
  const ds = data.dataset;
  const target = split === 'train' ? ds.train : split === 'test' ? ds.test : ds.validation;
  if (!target) {
    throw new OptionError('--split', `--split ${split}: this dataset has no ${split} split; choose one of: train${ds.validation ? ', validation' : ''}${ds.test ? ', test' : ''}`);
  }
  const model = await loadModel(found.modelDir);
  try {
    const m = await evaluate(model, target, { batchSize: o.batchSize ?? 100, numClasses: ds.numClasses, maxImages: o.images ?? 0 });
    return { ...m, split, modelDir: found.modelDir, dataset: data.description, epoch: found.epoch };
  } finally {
    model.dispose();
  }
}
