import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { readModelArtifacts, saveModel, writeFileAtomic } from '@lm/core-blocks/node';
import { packSgdState, type SGD, unpackSgdState } from '../optim/sgd';
import type { TrainConfig } from '../config';
import type { MetricSums } from '../metrics';
import type { EpochRecord } from '../log';

export const CHECKPOINT_FORMAT = 1;

/** Everything but weights and optimizer buffers; `state.json` of a checkpoint. */
export interface CheckpointState {
  format: number;
  /** Epoch in progress (zero-based) and the next batch of it; an epoch-end checkpoint has the next epoch and step 0. */
  epoch: number;
  stepInEpoch: number;
  globalStep: number;
  lr: number;
  /** Where the data iterator resumes: batches of (seed, epoch) from startBatch. */
  data: { seed: number; epoch: number; startBatch: number };
  /** Training metric sums of the epoch in progress. */
  trainSums: MetricSums;
  /** Seconds of training so far (for images/s across resumes). */
  trainSeconds: number;
  /** Random state of stochastic layers (@lm/stochastic), when it provides one. */
  randomState?: unknown;
  /** Learned k_n at checkpoint time. */
  kValues: { layer: string; k: number[] }[];
  /** Epoch records so far (metrics.jsonl is rewritten from these on resume). */
  history: EpochRecord[];
  config: TrainConfig;
  versions: Record<string, string>;
  backend: string;
  createdAt: string;
}

export interface CheckpointWriteOptions {
  /** Checkpoints kept (default 2). */
  keep?: number;
  /** Test hook: called before each stage; throwing simulates a crash at that point. */
  beforeStage?: (stage: 'model' | 'optimizer' | 'state' | 'rename' | 'latest') => void;
}

export function checkpointsDir(runDir: string): string {
  return join(runDir, 'checkpoints');
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* some filesystems do not support fsync on directories */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function listCheckpoints(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => /^ckpt-\d+(-\d+)?$/.test(n))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/**
 * Writes a checkpoint atomically: everything goes into `checkpoints/ckpt-<step>.tmp/` (each file fsynced),
 * the folder is renamed to `ckpt-<step>`, then the `latest` pointer file is replaced atomically. Only
 * then are older checkpoints beyond `keep` removed. A crash at any moment leaves `latest` naming a
 * complete checkpoint. Returns the checkpoint's path.
 */
export async function writeCheckpoint(
  runDir: string,
  model: tfl.LayersModel,
  optimizer: SGD,
  state: CheckpointState,
  options: CheckpointWriteOptions = {},
): Promise<string> {
  const dir = checkpointsDir(runDir);
  mkdirSync(dir, { recursive: true });
  let name = `ckpt-${state.globalStep}`;
  for (let i = 1; existsSync(join(dir, name)); i++) name = `ckpt-${state.globalStep}-${i}`;
  const tmp = join(dir, `${name}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const stage = options.beforeStage ?? (() => {});

  stage('model');
  await saveModel(model, join(tmp, 'model'));
  stage('optimizer');
  const packed = packSgdState(optimizer.getState());
  writeFileAtomic(join(tmp, 'momentum.bin'), packed.bin);
  writeFileAtomic(join(tmp, 'optimizer.json'), JSON.stringify(packed.json, null, 1));
  stage('state');
  writeFileAtomic(join(tmp, 'state.json'), JSON.stringify(state, null, 1));
  fsyncDir(join(tmp, 'model'));
  fsyncDir(tmp);
  stage('rename');
  renameSync(tmp, join(dir, name));
  fsyncDir(dir);
  stage('latest');
  writeFileAtomic(join(dir, 'latest'), `${name}\n`);
  fsyncDir(dir);

  const keep = Math.max(1, options.keep ?? 2);
  const all = listCheckpoints(dir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) {
    if (old !== name) rmSync(join(dir, old), { recursive: true, force: true });
  }
  for (const n of readdirSync(dir)) if (n.endsWith('.tmp') && n !== `${name}.tmp`) rmSync(join(dir, n), { recursive: true, force: true });
  return join(dir, name);
}

/** The checkpoint `latest` names in a run folder (or a checkpoint folder itself), or undefined. */
export function latestCheckpoint(runOrCheckpoint: string): string | undefined {
  const p = resolve(runOrCheckpoint);
  if (existsSync(join(p, 'state.json')) && existsSync(join(p, 'model'))) return p;
  const dir = existsSync(join(p, 'latest')) ? p : checkpointsDir(p);
  const pointer = join(dir, 'latest');
  if (!existsSync(pointer)) return undefined;
  const name = readFileSync(pointer, 'utf8').trim();
  const path = join(dir, name);
  return existsSync(join(path, 'state.json')) ? path : undefined;
}

export function readCheckpointState(path: string): CheckpointState {
  const state = JSON.parse(readFileSync(join(path, 'state.json'), 'utf8')) as CheckpointState;
  if (state.format !== CHECKPOINT_FORMAT) throw new Error(`${path}: checkpoint format ${state.format}, expected ${CHECKPOINT_FORMAT}`);
  return state;
}

/** Loads saved weights into `model` by position (names of auto-named layers differ between processes), checking shapes. */
export function loadWeightsInto(model: tfl.LayersModel, modelDir: string): void {
  const a = readModelArtifacts(modelDir);
  const specs = a.weightSpecs ?? [];
  const weights = model.weights;
  if (specs.length !== weights.length) {
    throw new Error(`${modelDir}: holds ${specs.length} weights, the model has ${weights.length}; the checkpoint is for another model.`);
  }
  const map = tf.io.decodeWeights(a.weightData as ArrayBuffer, specs);
  specs.forEach((s, i) => {
    const w = weights[i]!;
    const t = map[s.name]!;
    if (t.shape.join(',') !== w.shape.join(',')) {
      throw new Error(`${modelDir}: weight ${i} '${s.name}' has shape [${t.shape}], the model's '${w.name}' has [${w.shape}].`);
    }
    w.write(t);
  });
  tf.dispose(Object.values(map));
}

/** Restores weights and optimizer state from a checkpoint; returns its state.json. */
export function restoreCheckpoint(path: string, model: tfl.LayersModel, optimizer?: SGD): CheckpointState {
  const state = readCheckpointState(path);
  loadWeightsInto(model, join(path, 'model'));
  if (optimizer) {
    const json = JSON.parse(readFileSync(join(path, 'optimizer.json'), 'utf8'));
    const bin = readFileSync(join(path, json.file ?? 'momentum.bin'));
    optimizer.setState(unpackSgdState(json, new Uint8Array(bin.buffer, bin.byteOffset, bin.byteLength)));
  }
  return state;
}
