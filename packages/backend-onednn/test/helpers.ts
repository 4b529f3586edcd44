/** Test helpers: fresh random inputs, running the same computation on `onednn` and `cpu`, comparing results. */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-layers' node bundle registers every gradient of tfjs-core (needed by tf.grads).
import '@tensorflow/tfjs-layers';
import { expect } from 'vitest';

import { describeFallbacks, isOnednnAvailable, nativeCoverage, onednnLoadError, resetNativeCoverage } from '../src/index';

/** Fails loudly when the addon is missing: CI installs libdnnl-dev and builds it. */
export function requireOnednn(): void {
  if (!isOnednnAvailable()) throw onednnLoadError() ?? new Error('onednn backend unavailable');
}

/**
 * Seed of every random test input: LM_TEST_SEED replays a run; otherwise a fixed default. It is printed once per
 * test file and named in every comparison failure, so a failing case can be replayed exactly.
 */
export const TEST_SEED = (() => {
  const env = process.env.LM_TEST_SEED;
  if (env === undefined || env === '') return 20261201;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`LM_TEST_SEED must be an integer in [0, 2^32), got '${env}'`);
  return n;
})();
console.log(`backend-onednn tests: random inputs seeded with LM_TEST_SEED=${TEST_SEED}`);

let seed = TEST_SEED;
/** Seeded uniform values in ±[0.1, 1], never zero (a linear congruential stream from TEST_SEED). */
export function rand(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const u = seed / 4294967296;
    const m = 0.1 + 0.9 * ((u * 2) % 1);
    a[i] = u < 0.5 ? -m : m;
  }
  return a;
}

export interface Spec {
  shape: number[];
  values?: Float32Array;
}

/** Runs `fn` on tensors built from the same values on a backend; returns the outputs' data, disposing everything. */
export function runOn(backend: string, specs: Spec[], fn: (...t: tf.Tensor[]) => tf.Tensor | tf.Tensor[]): Float32Array[] {
  tf.setBackend(backend);
  if (tf.getBackend() !== backend) throw new Error(`could not switch to ${backend}`);
  // The arrays leave the tidy through a variable: a tidy's return value is walked element by element for tensors.
  let arrays: Float32Array[] = [];
  tf.tidy(() => {
    const ts = specs.map((s) => tf.tensor(s.values!, s.shape, 'float32'));
    const out = fn(...ts);
    arrays = (Array.isArray(out) ? out : [out]).map((t) => (t.dataSync() as Float32Array).slice());
  });
  return arrays;
}

/** max |a-b| / (|b| + mean|b|) over elements: a relative error that tolerates values near zero. */
export function relError(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let mean = 0;
  for (let i = 0; i < b.length; i++) mean += Math.abs(b[i]);
  mean = b.length ? mean / b.length : 0;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]) / (Math.abs(b[i]) + mean + 1e-30);
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : Math.max(worst, e);
  }
  return worst;
}

export interface CompareOptions {
  /** Relative error bound (default 1e-4). */
  tol?: number;
  /**
   * 'native' (default): on onednn at least one native kernel ran and none fell back, so the comparison is not
   * cpu against cpu. 'fallback': the case is one the native kernels do not cover; at least one fell back.
   */
  expect?: 'native' | 'fallback';
}

/** Compares `fn` on onednn against cpu on the same seeded random inputs; returns the outputs. */
export function compareBackends(shapes: number[][], fn: (...t: tf.Tensor[]) => tf.Tensor | tf.Tensor[], opts: CompareOptions | number = {}): Float32Array[] {
  const { tol = 1e-4, expect: path = 'native' } = typeof opts === 'number' ? { tol: opts } : opts;
  const specs = shapes.map((shape) => ({ shape, values: rand(shape.reduce((p, d) => p * d, 1)) }));
  resetNativeCoverage();
  const got = runOn('onednn', specs, fn);
  const cov = nativeCoverage();
  const want = runOn('cpu', specs, fn);
  const where = `(shapes ${JSON.stringify(shapes)}, LM_TEST_SEED=${TEST_SEED})`;
  const natives = Object.values(cov).reduce((n, c) => n + c.native, 0);
  const fallbacks = describeFallbacks(cov);
  if (path === 'native') {
    expect(fallbacks, `kernels fell back to cpu ${where}`).toEqual([]);
    const views = Object.values(cov).reduce((n, c) => n + c.views, 0);
    expect(natives + views, `no native kernel ran ${where}`).toBeGreaterThan(0);
  } else {
    expect(fallbacks.length, `expected a fallback to cpu ${where}`).toBeGreaterThan(0);
  }
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    expect(got[i].length).toBe(want[i].length);
    const e = relError(got[i], want[i]);
    expect(e, `output ${i}: relative error ${e} ${where}`).toBeLessThan(tol);
  }
  return got;
}

/** Counts calls of each kernel while `fn` runs, so a test can assert the native path was taken. */
export function kernelsRun(fn: () => void): Promise<string[]> {
  return tf.profile(() => {
    fn();
    return [] as tf.Tensor[];
  }).then((p) => p.kernelNames);
}

/** Norm-wise relative error ||a-b||₂ / ||b||₂. Used for whole-model gradients, where a ReLU input that lands within
 * rounding distance of zero on one backend legitimately flips one element's gradient path. */
export function relNormError(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0, n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(d) / (Math.sqrt(n) + 1e-30);
}
