/**
 * The one-call SGD step (LmSgdStep on onednn) against the op-by-op update on cpu: same weights, buffers and
 * checkpoint state over several steps, for every option combination; and the update never changes an array that
 * JavaScript already holds.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { isOnednnAvailable, nativeCoverage, onednnLoadError, resetNativeCoverage } from '@lm/backend-onednn';
import { beforeAll, describe, expect, it } from 'vitest';
import { seededValues, testSeed } from './helpers/seeded';
import { SGD, SGD_STEP_KERNEL, type SgdOptions } from '../src/optim/sgd';

const SEED = testSeed('sgd-fused', 12);
const values = (n: number, salt: number) => seededValues(SEED, n, salt);

const SHAPES = [[3, 3, 2, 5], [5], [7, 3], [1], [300, 257]]; // the last one spans several native chunks
const STEPS = 4;

/** Runs STEPS updates on `backend`; parameter 2 gets no gradient at step 1 (skipped, as PyTorch). */
function run(backend: string, o: SgdOptions): { weights: Float32Array[]; state: ReturnType<SGD['getState']> } {
  tf.setBackend(backend);
  const vars = SHAPES.map((s, i) => tf.variable(tf.tensor(values(s.reduce((a, b) => a * b, 1), i), s), true, `${backend}-${JSON.stringify(o)}-${i}`));
  // parameter groups: 1 without decay, 3 at a scaled rate (the scheme coefficients' group), 4 with a decay of its own
  const sgd = new SGD(vars.map((v, i) => ({ variable: v, decay: i !== 1, ...(i === 3 ? { lrScale: 0.15 } : {}), ...(i === 4 ? { weightDecay: 3e-3 } : {}) })), o);
  for (let step = 0; step < STEPS; step++) {
    const grads = SHAPES.map((s, i) => tf.tensor(values(s.reduce((a, b) => a * b, 1), 100 * (step + 1) + i), s));
    const map: tf.NamedTensorMap = {};
    vars.forEach((v, i) => {
      if (!(step === 1 && i === 2)) map[v.name] = grads[i]!;
    });
    sgd.step(map, o.lr * (1 + step));
    tf.dispose(grads);
  }
  const weights = vars.map((v) => Float32Array.from(v.dataSync() as Float32Array));
  const state = sgd.getState();
  sgd.dispose();
  tf.dispose(vars);
  return { weights, state };
}

const OPTIONS: SgdOptions[] = [
  { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 },
  { lr: 0.05, momentum: 0.9, weightDecay: 1e-4, nesterov: true },
  { lr: 0.1, momentum: 0.8, dampening: 0.25, weightDecay: 0 },
  { lr: 0.2, momentum: 0, weightDecay: 1e-3 },
];

describe('SGD as one native call (LmSgdStep)', () => {
  beforeAll(() => {
    if (!isOnednnAvailable()) throw onednnLoadError() ?? new Error('onednn unavailable');
  });

  it('is provided by onednn only (cpu keeps the op-by-op path)', () => {
    expect(tf.getKernel(SGD_STEP_KERNEL, 'onednn')).toBeDefined();
    expect(tf.getKernel(SGD_STEP_KERNEL, 'cpu')).toBeUndefined();
  });

  it.each(OPTIONS)('matches the op-by-op update on cpu: %j', (o) => {
    resetNativeCoverage();
    const fused = run('onednn', o);
    expect(nativeCoverage()[SGD_STEP_KERNEL]?.native).toBe(STEPS);
    const ref = run('cpu', o);
    /** Largest |a − b| / (1 + |b|) over the elements. */
    const worst = (a: Float32Array, b: Float32Array) => a.reduce((m, x, j) => Math.max(m, Math.abs(x - b[j]!) / (1 + Math.abs(b[j]!))), 0);
    for (let i = 0; i < SHAPES.length; i++) {
      expect(worst(fused.weights[i]!, ref.weights[i]!), `weight ${i}`).toBeLessThanOrEqual(1e-6);
      const fb = fused.state.buffers[i], rb = ref.state.buffers[i];
      expect(fb === null, `buffer ${i} presence`).toBe(rb === null);
      if (fb && rb) expect(worst(fb, rb), `buffer ${i}`).toBeLessThanOrEqual(1e-6);
    }
    expect(fused.state.steps).toBe(ref.state.steps);
  });

  it('leaves arrays already read by JavaScript untouched, and keeps tensors flat', () => {
    tf.setBackend('onednn');
    const v = tf.variable(tf.tensor(values(64, 7), [8, 8]));
    const sgd = new SGD([v], { lr: 0.1, momentum: 0.9 });
    const g = tf.tensor(values(64, 8), [8, 8]);
    sgd.step([g]);
    sgd.step([g]);
    const before = tf.memory().numTensors;
    const held = v.dataSync();
    const copy = Float32Array.from(held);
    sgd.step([g]);
    expect(Array.from(held)).toEqual(Array.from(copy));
    expect(Array.from(v.dataSync())).not.toEqual(Array.from(copy));
    for (let i = 0; i < 5; i++) sgd.step([g]);
    expect(tf.memory().numTensors).toBe(before);
    sgd.dispose();
    tf.dispose([v, g]);
  });
});
