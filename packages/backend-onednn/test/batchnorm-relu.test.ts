import './helpers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { BATCH_NORM_RELU_INFERENCE, BATCH_NORM_RELU_TRAIN, BATCH_NORM_TRAIN, tryLoadAddon } from '../src/index';
import { compareBackends, rand, relError, requireOnednn, runOn } from './helpers';

// Odd sizes, batch 1 (N·H·W >= 3, see batchnorm.test.ts), and [N, C].
const shapes = [[1, 1, 3, 3], [1, 5, 7, 3], [3, 9, 5, 33], [6, 4]];
const eps = 1e-3;
const count = (s: number[]) => s.reduce((p, d) => p * d, 1);

/** [max(y, 0), mean, variance]: the 4th output, the ReLU mask, is each backend's own encoding. */
function bnReluTrain(x: tf.Tensor, s: tf.Tensor, o: tf.Tensor): tf.Tensor[] {
  return (tf.engine().runKernel(BATCH_NORM_RELU_TRAIN, { x, scale: s, offset: o }, { epsilon: eps }) as tf.Tensor[]).slice(0, 3);
}
/** The reference: the plain training kernel, then tf.relu. */
function bnThenRelu(x: tf.Tensor, s: tf.Tensor, o: tf.Tensor): tf.Tensor[] {
  const [y, m, v] = tf.engine().runKernel(BATCH_NORM_TRAIN, { x, scale: s, offset: o }, { epsilon: eps }) as tf.Tensor[];
  return [tf.relu(y!), m!, v!];
}

describe('LmBatchNormReluTrain', () => {
  beforeAll(requireOnednn);

  it('the native kernels refuse a ReLU workspace smaller than the primitive needs', () => {
    const addon = tryLoadAddon().addon!;
    const shape = [2, 5, 4, 3], n = 2 * 5 * 4 * 3, c = 3;
    const bytes = addon.batchNormReluWorkspaceBytes(shape, eps);
    expect(bytes).toBeGreaterThan(0);
    const x = Float32Array.from(rand(n)), y = new Float32Array(n), ones = new Float32Array(c).fill(1);
    const small = new Float32Array(Math.ceil(bytes / 4) - 1);
    const train = (ws: Float32Array) => addon.batchNormTrain(x, ones, new Float32Array(c), y, new Float32Array(c), new Float32Array(c), shape, eps, ws);
    expect(() => train(small)).toThrow(/workspace is smaller/);
    expect(() => train(new Float32Array(Math.ceil(bytes / 4)))).not.toThrow();
    const grad = (ws: Float32Array) =>
      addon.batchNormTrainGrad(x, x, ones, new Float32Array(c), ones, new Float32Array(n), new Float32Array(c), new Float32Array(c), shape, eps, ws);
    expect(() => grad(small)).toThrow(/workspace is smaller/);
  });

  it.each(shapes.map((s) => [s]))('forward onednn vs cpu, and cpu vs BN then ReLU, x %j', (shape) => {
    const c = shape[shape.length - 1]!;
    compareBackends([shape, [c], [c]], bnReluTrain);
    const specs = [shape, [c], [c]].map((s) => ({ shape: s, values: rand(count(s)) }));
    const fused = runOn('cpu', specs, bnReluTrain), ref = runOn('cpu', specs, bnThenRelu);
    for (let i = 0; i < 3; i++) expect(relError(fused[i]!, ref[i]!), `output ${i}`).toBeLessThan(1e-4);
    expect(fused[0]!.some((v) => v === 0) && fused[0]!.some((v) => v > 0), 'the ReLU clips some values').toBe(true);
  });

  it.each(shapes.map((s) => [s]))('gradients onednn vs cpu vs autodiff of BN then ReLU, x %j', (shape) => {
    const c = shape[shape.length - 1]!;
    const specs = [shape, [c], [c], shape].map((s) => ({ shape: s, values: rand(count(s)) }));
    const grads = (f: typeof bnReluTrain) => (x: tf.Tensor, s: tf.Tensor, o: tf.Tensor, r: tf.Tensor) =>
      tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(f(a, b, d)[0]!, r)))([x, s, o]);
    const got = runOn('onednn', specs, grads(bnReluTrain));
    const want = runOn('cpu', specs, grads(bnReluTrain));
    const ref = runOn('cpu', specs, grads(bnThenRelu));
    for (let i = 0; i < 3; i++) {
      expect(relError(got[i]!, want[i]!), `onednn vs cpu, grad ${i}`).toBeLessThan(1e-4);
      expect(relError(want[i]!, ref[i]!), `fused vs BN then ReLU, grad ${i}`).toBeLessThan(1e-4);
    }
  });
});

/** The evaluation-mode BN+ReLU: the kernel where registered (onednn), else stock ops (the reference on cpu). */
function bnReluInfer(x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: tf.Tensor, o: tf.Tensor): tf.Tensor {
  const variance = tf.add(tf.abs(v), 0.1);
  if (tf.getKernel(BATCH_NORM_RELU_INFERENCE, tf.getBackend())) {
    return tf.engine().runKernel(BATCH_NORM_RELU_INFERENCE, { x, mean: m, variance, scale: s, offset: o }, { epsilon: eps }) as tf.Tensor;
  }
  return tf.relu(tf.batchNorm(x, m, variance, o, s, eps));
}

describe('LmBatchNormReluInference', () => {
  beforeAll(requireOnednn);

  it('is an onednn kernel only (cpu composes stock ops)', () => {
    expect(tf.getKernel(BATCH_NORM_RELU_INFERENCE, 'onednn')).toBeDefined();
    expect(tf.getKernel(BATCH_NORM_RELU_INFERENCE, 'cpu')).toBeUndefined();
  });

  it.each([[1, 3, 3, 2], [1, 7, 5, 3], [3, 9, 5, 33]].map((s) => [s]))('forward and gradients onednn vs cpu, x %j', (shape) => {
    const c = shape[3]!;
    compareBackends([shape, [c], [c], [c], [c]], bnReluInfer);
    const specs = [shape, [c], [c], [c], [c], shape].map((s) => ({ shape: s, values: rand(count(s)) }));
    const f = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: tf.Tensor, o: tf.Tensor, r: tf.Tensor) =>
      tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(bnReluInfer(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!), r)))([x, m, v, s, o]);
    const got = runOn('onednn', specs, f), want = runOn('cpu', specs, f);
    for (let i = 0; i < 5; i++) expect(relError(got[i]!, want[i]!), `grad ${i}`).toBeLessThan(1e-4);
  });

  it('falls back to cpu (then clips) for a 2-D input', () => {
    compareBackends([[5, 3], [3], [3], [3], [3]], bnReluInfer, { expect: 'fallback' });
  });
});
