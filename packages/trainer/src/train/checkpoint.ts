import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { readModelArtifacts, saveModel, writeFileAtomic } from '@lm/core-blocks/node';
import { packSgdState, type SGD, unpackSgdState } from '../optim/sgd';
import type { TrainConfig } from '../config';
import { CheckpointError, NonFiniteWeightsError } from '../errors';
import type { MetricSums } from '../metrics';
import type { EpochRecord } from '../log';

export const CHECKPOINT_FORMAT = 1;
/** Lists every other file of a checkpoint with its size and sha256; written last, so its presence means "complete". */
export const MANIFEST_FILE = 'manifest.json';

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

export interface ManifestEntry {
  path: string;
  size: number;
  sha256: string;
}

export interface CheckpointManifest {
  format: number;
  /** Every weight and momentum value was checked finite before writing. */
  finite: true;
  files: ManifestEntry[];
}

export type CheckpointStage = 'model' | 'optimizer' | 'state' | 'manifest' | 'rename' | 'latest';

export interface CheckpointWriteOptions {
  /** Checkpoints kept (default 2); the newest verified one is never removed. */
  keep?: number;
  /** Test hook: called before each stage; throwing simulates a crash at that point. */
  beforeStage?: (stage: CheckpointStage) => void;
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

const CKPT_NAME = /^ckpt-(\d+)(?:-(\d+))?$/;

/** Checkpoint folder names, newest (highest global step, then highest suffix) first. */
export function listCheckpoints(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const key = (n: string) => {
    const m = CKPT_NAME.exec(n)!;
    return [Number(m[1]), Number(m[2] ?? 0)] as const;
  };
  return readdirSync(dir)
    .filter((n) => CKPT_NAME.test(n))
    .sort((a, b) => {
      const [sa, ia] = key(a);
      const [sb, ib] = key(b);
      return sb - sa || ib - ia;
    });
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Every file under `dir`, relative, sorted (the manifest itself and temp files excluded). */
function filesUnder(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...filesUnder(dir, rel));
    else if (rel !== MANIFEST_FILE && !e.name.endsWith('.tmp')) out.push(rel);
  }
  return out.sort();
}

/** Names of the weights (and momentum buffers) that hold a NaN or an infinity; empty when all are finite. */
export function nonFiniteWeights(model: tfl.LayersModel, optimizer?: SGD): string[] {
  const bad: string[] = [];
  for (const w of model.weights) {
    const ok = tf.tidy(() => tf.all(tf.isFinite(w.read())).dataSync()[0]);
    if (!ok) bad.push(w.originalName ?? w.name);
  }
  const state = optimizer?.getState();
  state?.buffers.forEach((b, i) => {
    if (b && b.some((x) => !Number.isFinite(x))) bad.push(`momentum of ${state.names[i]}`);
  });
  return bad;
}

/**
 * Writes a checkpoint atomically and verifiably: the weights and momentum buffers are checked finite first
 * (else {@link NonFiniteWeightsError} and nothing is written); everything goes into `ckpt-<step>.tmp/` (each
 * file fsynced), then `manifest.json` lists every file with its size and sha256 (read back from disk); the
 * folder is renamed to `ckpt-<step>` and the `latest` pointer replaced atomically. Only then are checkpoints
 * beyond `keep` removed, keeping the newest verified ones. Returns the checkpoint's path.
 */
export async function writeCheckpoint(
  runDir: string,
  model: tfl.LayersModel,
  optimizer: SGD,
  state: CheckpointState,
  options: CheckpointWriteOptions = {},
): Promise<string> {
  const bad = nonFiniteWeights(model, optimizer);
  if (bad.length) throw new NonFiniteWeightsError(bad);
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
  stage('manifest');
  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT,
    finite: true,
    files: filesUnder(tmp).map((path) => {
      const bytes = readFileSync(join(tmp, path));
      return { path, size: bytes.length, sha256: sha256(bytes) };
    }),
  };
  writeFileAtomic(join(tmp, MANIFEST_FILE), JSON.stringify(manifest, null, 1));
  fsyncDir(tmp);
  stage('rename');
  renameSync(tmp, join(dir, name));
  fsyncDir(dir);
  stage('latest');
  writeFileAtomic(join(dir, 'latest'), `${name}\n`);
  fsyncDir(dir);
  pruneCheckpoints(runDir, Math.max(1, options.keep ?? 2), name);
  return join(dir, name);
}

/**
 * Removes checkpoints beyond the `keep` newest verified ones (`justWritten` counts as the newest).
 * Damaged checkpoints are removed too; the newest verified checkpoint is never removed.
 */
export function pruneCheckpoints(runDir: string, keep: number, justWritten?: string): void {
  const dir = checkpointsDir(runDir);
  const names = listCheckpoints(dir);
  const kept = new Set<string>(justWritten ? [justWritten] : []);
  for (const n of names) {
    if (kept.size >= keep) break;
    if (!kept.has(n) && verifyCheckpoint(join(dir, n)).ok) kept.add(n);
  }
  if (kept.size === 0) return;
  for (const n of names) if (!kept.has(n)) rmSync(join(dir, n), { recursive: true, force: true });
}

export type Verification = { ok: true } | { ok: false; reason: string };

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CheckpointError(file, `cannot read ${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(file, `${what} is not valid JSON (${(e as Error).message}); the file is damaged`);
  }
}

/** Checks a checkpoint folder against its manifest: every listed file present, of the listed size and sha256. */
export function verifyCheckpoint(path: string): Verification {
  const manifestFile = join(path, MANIFEST_FILE);
  if (!existsSync(manifestFile)) return { ok: false, reason: `no ${MANIFEST_FILE} (an incomplete write, or written by an lm without verified checkpoints)` };
  try {
    const m = readJson(manifestFile, 'the manifest') as Partial<CheckpointManifest>;
    if (m?.format !== CHECKPOINT_FORMAT || !Array.isArray(m.files) || m.finite !== true) return { ok: false, reason: `${MANIFEST_FILE}: not a checkpoint manifest of format ${CHECKPOINT_FORMAT}` };
    const names = new Set(m.files.map((f) => f.path));
    for (const required of ['state.json', 'optimizer.json', 'momentum.bin', 'model/model.json']) {
      if (!names.has(required)) return { ok: false, reason: `${MANIFEST_FILE} does not list ${required}` };
    }
    for (const f of m.files) {
      const file = join(path, f.path);
      if (!existsSync(file)) return { ok: false, reason: `${f.path} is missing` };
      const size = statSync(file).size;
      if (size !== f.size) return { ok: false, reason: `${f.path} has ${size} bytes, the manifest says ${f.size} (truncated or damaged)` };
      if (sha256(readFileSync(file)) !== f.sha256) return { ok: false, reason: `${f.path}: sha256 differs from the manifest (the file is damaged)` };
    }
    const state = readJson(join(path, 'state.json'), 'state.json') as Partial<CheckpointState>;
    if (state.format !== CHECKPOINT_FORMAT) return { ok: false, reason: `state.json: format ${String(state.format)}, expected ${CHECKPOINT_FORMAT}` };
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

export interface CheckpointChoice {
  /** The checkpoint used: the one `latest` names if it verifies, else the newest that verifies; undefined if none does. */
  path?: string;
  /** Checkpoints passed over, newest first, each with the reason. */
  skipped: { name: string; reason: string }[];
  /** What was wrong with the `latest` pointer, if anything. */
  pointerProblem?: string;
}

/** The checkpoint a run resumes from (or is evaluated at), falling back past damaged ones. */
export function chooseCheckpoint(runDir: string): CheckpointChoice {
  const dir = checkpointsDir(resolve(runDir));
  const names = listCheckpoints(dir);
  const pointer = join(dir, 'latest');
  let pointed: string | undefined;
  let pointerProblem: string | undefined;
  if (!existsSync(pointer)) pointerProblem = names.length ? `${pointer} is missing` : undefined;
  else {
    const name = readFileSync(pointer, 'utf8').trim();
    if (!CKPT_NAME.test(name)) pointerProblem = `${pointer} does not name a checkpoint (holds ${JSON.stringify(name.slice(0, 40))})`;
    else if (!existsSync(join(dir, name))) pointerProblem = `${pointer} names ${name}, which does not exist`;
    else pointed = name;
  }
  const order = pointed ? [pointed, ...names.filter((n) => n !== pointed)] : names;
  const skipped: CheckpointChoice['skipped'] = [];
  for (const n of order) {
    const v = verifyCheckpoint(join(dir, n));
    if (v.ok) return { path: join(dir, n), skipped, pointerProblem };
    skipped.push({ name: n, reason: v.reason });
  }
  return { skipped, pointerProblem };
}

/** One line per checkpoint passed over (and the pointer's problem), for the log. */
export function describeFallback(choice: CheckpointChoice): string[] {
  const lines: string[] = [];
  if (choice.pointerProblem) lines.push(`warning: ${choice.pointerProblem}; using the newest checkpoint that verifies`);
  for (const s of choice.skipped) lines.push(`warning: skipped checkpoint ${s.name}: ${s.reason}`);
  if (choice.path && choice.skipped.length) lines.push(`using checkpoint ${basename(choice.path)}, the newest that verifies`);
  return lines;
}

/** True for a checkpoint folder (`ckpt-N` with a state.json or manifest). */
export function isCheckpointFolder(path: string): boolean {
  return CKPT_NAME.test(basename(path)) && (existsSync(join(path, 'state.json')) || existsSync(join(path, MANIFEST_FILE)));
}

/**
 * The checkpoint of a run folder (see {@link chooseCheckpoint}), or a verified checkpoint folder itself; undefined if none verifies.
 */
export function latestCheckpoint(runOrCheckpoint: string): string | undefined {
  const p = resolve(runOrCheckpoint);
  if (isCheckpointFolder(p)) return verifyCheckpoint(p).ok ? p : undefined;
  if (existsSync(join(p, 'latest')) && basename(p) === 'checkpoints') return chooseCheckpoint(dirname(p)).path;
  return chooseCheckpoint(p).path;
}

export function readCheckpointState(path: string): CheckpointState {
  const file = join(path, 'state.json');
  const state = readJson(file, 'state.json') as CheckpointState;
  if (state?.format !== CHECKPOINT_FORMAT) throw new CheckpointError(file, `checkpoint format ${String(state?.format)}, expected ${CHECKPOINT_FORMAT}`);
  return state;
}

/** Loads saved weights into `model` by position (names of auto-named layers differ between processes), checking shapes. */
export function loadWeightsInto(model: tfl.LayersModel, modelDir: string): void {
  let a: tf.io.ModelArtifacts;
  try {
    a = readModelArtifacts(modelDir);
  } catch (e) {
    throw new CheckpointError(join(modelDir, 'model.json'), (e as Error).message);
  }
  const specs = a.weightSpecs ?? [];
  const weights = model.weights;
  if (specs.length !== weights.length) {
    throw new CheckpointError(modelDir, `holds ${specs.length} weights, the model has ${weights.length}; the checkpoint is for another model.`);
  }
  const bytes = (a.weightData as ArrayBuffer).byteLength;
  const needed = specs.reduce((n, s) => n + 4 * s.shape.reduce((x, y) => x * y, 1), 0);
  if (specs.every((s) => s.dtype === 'float32') && bytes !== needed) {
    throw new CheckpointError(modelDir, `the weights files hold ${bytes} bytes, model.json describes ${needed}; the weights are truncated or damaged`);
  }
  const map = tf.io.decodeWeights(a.weightData as ArrayBuffer, specs);
  specs.forEach((s, i) => {
    const w = weights[i]!;
    const t = map[s.name]!;
    if (t.shape.join(',') !== w.shape.join(',')) {
      throw new CheckpointError(modelDir, `weight ${i} '${s.name}' has shape [${t.shape}], the model's '${w.name}' has [${w.shape}].`);
    }
    w.write(t);
  });
  tf.dispose(Object.values(map));
}

/** Restores weights and optimizer state from a checkpoint; returns its state.json. Errors name the file. */
export function restoreCheckpoint(path: string, model: tfl.LayersModel, optimizer?: SGD): CheckpointState {
  const state = readCheckpointState(path);
  loadWeightsInto(model, join(path, 'model'));
  if (optimizer) {
    const jsonFile = join(path, 'optimizer.json');
    const json = readJson(jsonFile, 'optimizer.json') as { file?: string; buffers?: { length: number }[] };
    if (!json || !Array.isArray(json.buffers)) throw new CheckpointError(jsonFile, "field 'buffers' is missing; the file is damaged");
    const binFile = join(path, json.file ?? 'momentum.bin');
    const bin = readFileSync(binFile);
    const needed = 4 * json.buffers.reduce((n, b) => n + Math.max(0, b.length), 0);
    if (bin.byteLength !== needed) throw new CheckpointError(binFile, `holds ${bin.byteLength} bytes, optimizer.json describes ${needed}; the file is truncated or damaged`);
    try {
      optimizer.setState(unpackSgdState(json, new Uint8Array(bin.buffer, bin.byteOffset, bin.byteLength)));
    } catch (e) {
      throw new CheckpointError(jsonFile, (e as Error).message);
    }
  }
  return state;
}

/** Temp files of writes that never finished (a crash, a full disk), under a run folder. */
export function leftoverTempFiles(runDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 4 || !existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.name.endsWith('.tmp')) out.push(p);
      else if (e.isDirectory() && !lstatSync(p).isSymbolicLink()) walk(p, depth + 1);
    }
  };
  walk(resolve(runDir), 0);
  return out;
}

/** Removes the leftovers of failed writes; returns them relative to the run folder. Call with the run folder locked. */
export function cleanTempFiles(runDir: string): string[] {
  const files = leftoverTempFiles(runDir);
  for (const f of files) rmSync(f, { recursive: true, force: true });
  return files.map((f) => relative(resolve(runDir), f));
}
