import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { BatchNorm, batchNormTrain, hasFusedBatchNormTrain } from '../src/index';
import { useCpu } from './setup-backend';

describe('BatchNorm', () => {
  beforeAll(useCpu);

  it('normalises with batch statistics in training and updates the moving statistics (unbiased variance)', () => {
    const bn = new BatchNorm({ momentum: 0.9, epsilon: 1e-5 });
    const x = tf.add(tf.mul(tf.randomNormal([4, 3, 3, 2], 0, 1, 'float32', 7), 3), 5);
    const y = bn.apply(x, { training: true }) as tf.Tensor;
    const { mean, variance } = tf.moments(y, [0, 1, 2]);
    for (const m of mean.dataSync()) expect(Math.abs(m)).toBeLessThan(1e-4);
    for (const v of variance.dataSync()) expect(v).toBeCloseTo(1, 3);

    const batch = tf.moments(x, [0, 1, 2]);
    const n = 4 * 3 * 3;
    const [, , movingMean, movingVar] = bn.getWeights();
    const expMean = batch.mean.dataSync().map((m) => 0.1 * m);
    const expVar = batch.variance.dataSync().map((v) => 0.9 + 0.1 * v * (n / (n - 1)));
    movingMean!.dataSync().forEach((v, i) => expect(v).toBeCloseTo(expMean[i]!, 5));
    movingVar!.dataSync().forEach((v, i) => expect(v).toBeCloseTo(expVar[i]!, 4));
  });

  it('uses the moving statistics in evaluation, leaving them unchanged', () => {
    const bn = new BatchNorm();
    bn.build([null, 2]);
    bn.setWeights([tf.tensor1d([2, 3]), tf.tensor1d([0.5, -1]), tf.tensor1d([1, -1]), tf.tensor1d([4, 9])]);
    const y = bn.apply(tf.tensor2d([[3, 2]]), { training: false }) as tf.Tensor;
    const e = 1e-5;
    expect(Array.from(y.dataSync())[0]).toBeCloseTo((2 * (3 - 1)) / Math.sqrt(4 + e) + 0.5, 5);
    expect(Array.from(y.dataSync())[1]).toBeCloseTo((3 * (2 + 1)) / Math.sqrt(9 + e) - 1, 5);
    expect(Array.from(bn.getWeights()[2]!.dataSync())).toEqual([1, -1]);
  });

  it('differentiates the composed fallback through the batch statistics', () => {
    expect(hasFusedBatchNormTrain()).toBe(false);
    const x = tf.randomNormal([3, 2, 2, 2], 0, 1, 'float32', 11);
    const scale = tf.tensor1d([1.5, 0.5]);
    const offset = tf.tensor1d([0.1, 0.2]);
    // Σ y over the batch is N·offset whatever x is, so its gradient with respect to x vanishes.
    const dx = tf.grad((xx: tf.Tensor) => tf.sum(batchNormTrain(xx, scale, offset, 1e-5).y))(x);
    for (const v of dx.dataSync()) expect(Math.abs(v)).toBeLessThan(1e-5);
    const weighted = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(batchNormTrain(xx, scale, offset, 1e-5).y, xx)))(x);
    expect(Math.max(...Array.from(weighted.dataSync()).map(Math.abs))).toBeGreaterThan(1e-3);
  });
});
