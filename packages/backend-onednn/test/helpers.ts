/** Test helpers: fresh random inputs, running the same computation on `onednn` and `cpu`, comparing results. */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-layers' node bundle registers every gradient of tfjs-core (needed by tf.grads).
import '@tensorflow/tfjs-layers';
import { expect } from 'vitest';

import { isOnednnAvailable, onednnLoadError } from '../src/index';

/** Fails loudly when the addon is missing: CI installs libdnnl-dev and builds it. */
export function requireOnednn(): void {
  if (!isOnednnAvailable()) throw onednnLoadError() ?? new Error('onednn backend unavailable');
}

let seed = (Date.now() ^ 0x9e3779b9) >>> 0;
/** Fresh (time-seeded) uniform values in ±[0.1, 1], never zero. The seed is printed on failure via the message. */
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
  return tf.tidy(() => {
    const ts = specs.map((s) => tf.tensor(s.values!, s.shape, 'float32'));
    const out = fn(...ts);
    return (Array.isArray(out) ? out : [out]).map((t) => t.dataSync() as Float32Array).map((a) => Float32Array.from(a));
  });
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

/** Compares `fn` on onednn against cpu on the same fresh random inputs; returns the outputs. */
export function compareBackends(shapes: number[][], fn: (...t: tf.Tensor[]) => tf.Tensor | tf.Tensor[], tol = 1e-4): Float32Array[] {
  const specs = shapes.map((shape) => ({ shape, values: rand(shape.reduce((p, d) => p * d, 1)) }));
  const got = runOn('onednn', specs, fn);
  const want = runOn('cpu', specs, fn);
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    expect(got[i].length).toBe(want[i].length);
    const e = relError(got[i], want[i]);
    expect(e, `output ${i}: relative error ${e} (shapes ${JSON.stringify(shapes)})`).toBeLessThan(tol);
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
