import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { readModelArtifacts } from '@lm/core-blocks/node';
import type { TrainOverrides } from '../src/config';

export const PKG = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const TINY_PLUGIN = join(PKG, 'test', 'fixtures', 'tiny-model.ts');

export function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `lm-${prefix}-`));
}

/** A tiny run: the tiny LM network on 192 synthetic training images, 12 steps of 16 per epoch. */
export function tinyConfig(out: string, extra: TrainOverrides = {}): TrainOverrides {
  return {
    model: 'tiny-lm',
    dataset: 'synthetic',
    syntheticSize: 192,
    valSize: 64,
    epochs: 2,
    batchSize: 16,
    lr: 0.05,
    warmupEpochs: 0,
    schedule: { type: 'step', milestones: [1], gamma: 0.1 },
    backend: 'cpu',
    plugins: [TINY_PLUGIN],
    out,
    ...extra,
  };
}

/** The same tiny run as `lm train` flags. */
export function tinyFlags(out: string, model = 'tiny-lm'): string[] {
  return [
    'train', '--plugin', TINY_PLUGIN, '--model', model, '--dataset', 'synthetic', '--synthetic-size', '192', '--val-size', '64',
    '--epochs', '2', '--batch-size', '16', '--lr', '0.05', '--warmup-epochs', '0', '--schedule', 'step:1', '--backend', 'cpu',
    '--progress', 'lines', '--out', out,
  ];
}

export interface CliRun {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** Runs the `lm` command from source in a child process (tsx, the @lm/source condition). */
export function lm(args: string[], env: Record<string, string> = {}): CliRun {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@lm/source', join(PKG, 'src', 'cli.ts'), ...args], {
    cwd: PKG,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((res) =>
    child.on('close', (code, signal) => res({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

/** Polls `cond` every `everyMs` until it holds; fails after `maxTries` (a bounded loop, not a timing assumption). */
export async function until(cond: () => boolean, what: string, maxTries = 6000, everyMs = 20): Promise<void> {
  for (let i = 0; i < maxTries; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** All weights of a saved model folder as flat arrays, in order. */
export function savedWeights(modelDir: string): Float32Array[] {
  const a = readModelArtifacts(modelDir);
  const map = tf.io.decodeWeights(a.weightData as ArrayBuffer, a.weightSpecs!);
  return a.weightSpecs!.map((s) => map[s.name]!.dataSync() as Float32Array);
}
