import './helpers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, batchNormTrain } from '../src/index';
import { compareBackends, rand, relError, requireOnednn, runOn } from './helpers';

// Batch 1 needs N·H·W >= 3: with 1 or 2 rows the normalised values are 0 or ±1 and dx is identically 0 (rounding noise).
const shapes = [[1, 1, 3, 3], [1, 5, 7, 3], [2, 5, 7, 3], [4, 8, 8, 16], [3, 9, 5, 33], [6, 4], [128, 10], [3, 7, 5]];

describe('LmBatchNormTrain', () => {
  beforeAll(requireOnednn);

  it('is registered for cpu and onednn with its gradient', () => {
    for (const b of ['cpu', 'onednn']) {
      expect(tf.getKernel(BATCH_NORM_TRAIN, b)).toBeDefined();
      expect(tf.getKernel(BATCH_NORM_TRAIN_GRAD, b)).toBeDefined();
    }
    expect(tf.getGradient(BATCH_NORM_TRAIN)).toBeDefined();
  });

  it.each(shapes.map((s) => [s]))('forward onednn vs cpu, x %j', (shape) => {
    const c = shape[shape.length - 1];
    compareBackends([shape, [c], [c]], (x, s, o) => {
      const r = batchNormTrain(x, s, o, 1e-3);
      return [r.y, r.mean, r.variance];
    });
  });

  it.each(shapes.map((s) => [s]))('cpu kernel matches the composition of stock ops (moments, biased variance), x %j', (shape) => {
    const c = shape[shape.length - 1];
    const axes = [...Array(shape.length - 1).keys()];
    const specs = [shape, [c], [c]].map((s) => ({ shape: s, values: rand(s.reduce((p, d) => p * d, 1)) }));
    const viaKernel = runOn('cpu', specs, (x, s, o) => {
      const r = batchNormTrain(x, s, o, 1e-3);
      return [r.y, r.mean, r.variance];
    });
    const viaOps = runOn('cpu', specs, (x, s, o) => {
      const m = tf.moments(x, axes);
      return [tf.add(tf.mul(tf.div(tf.sub(x, m.mean), tf.sqrt(tf.add(m.variance, 1e-3))), s), o), m.mean, m.variance];
    });
    for (let i = 0; i < 3; i++) expect(relError(viaKernel[i], viaOps[i])).toBeLessThan(1e-4);
  });

  it.each(shapes.map((s) => [s]))('gradient onednn vs cpu, and cpu vs autodiff of the composition, x %j', (shape) => {
    const c = shape[shape.length - 1];
    const axes = [...Array(shape.length - 1).keys()];
    const specs = [shape, [c], [c], shape].map((s) => ({ shape: s, values: rand(s.reduce((p, d) => p * d, 1)) }));
    const f = (x: tf.Tensor, s: tf.Tensor, o: tf.Tensor, r: tf.Tensor) =>
      tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(batchNormTrain(a, b, d, 1e-3).y, r)))([x, s, o]);
    const got = runOn('onednn', specs, f);
    const want = runOn('cpu', specs, f);
    const composed = runOn('cpu', specs, (x, s, o, r) =>
      tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => {
        const m = tf.moments(a, axes);
        return tf.sum(tf.mul(tf.add(tf.mul(tf.div(tf.sub(a, m.mean), tf.sqrt(tf.add(m.variance, 1e-3))), b), d), r));
      })([x, s, o]));
    for (let i = 0; i < 3; i++) {
      expect(relError(got[i], want[i]), `onednn vs cpu, grad ${i}`).toBeLessThan(1e-4);
      // The composition accumulates in float32 through ~45 kernels; allow a little more for it.
      expect(relError(want[i], composed[i]), `cpu vs composition, grad ${i}`).toBeLessThan(1e-3);
    }
  });

  it('falls back to stock ops on a backend without the kernel', () => {
    tf.setBackend('cpu');
    const k = tf.getKernel(BATCH_NORM_TRAIN, 'cpu')!;
    tf.unregisterKernel(BATCH_NORM_TRAIN, 'cpu');
    try {
      const x = tf.tensor(rand(24), [2, 3, 4]);
      const r = batchNormTrain(tf.reshape(x, [6, 4]), tf.ones([4]), tf.zeros([4]));
      expect(r.y.shape).toEqual([6, 4]);
      expect(Math.abs(tf.mean(r.y).dataSync()[0])).toBeLessThan(1e-5);
      tf.dispose([x, r.y, r.mean, r.variance]);
    } finally {
      tf.registerKernel(k);
    }
  });
});

describe('FusedBatchNorm (inference) vs cpu', () => {
  beforeAll(requireOnednn);
  it.each([[1, 3, 3, 2], [2, 7, 5, 3], [4, 8, 8, 16]].map((s) => [s]))('x %j', (shape) => {
    const c = shape[3];
    // variance must be positive: use |v| + 0.1
    compareBackends([shape, [c], [c], [c], [c]], (x, m, v, s, o) => tf.batchNorm(x, m, tf.add(tf.abs(v), 0.1), o, s, 1e-3));
    compareBackends([shape, [c], [c]], (x, m, v) => tf.batchNorm(x, m, tf.add(tf.abs(v), 0.1)));
  });
});
