/**
 * LmMovingStatsUpdate (moving_stats_op.ts): the batch-norm moving statistics in one kernel, equal bit for bit to
 * the composed tf ops it replaces, on `cpu` and `onednn`; it has no gradient and saves nothing for the backward pass.
 */
import './helpers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { MOVING_STATS_UPDATE } from '../src/index';
import { rand, requireOnednn } from './helpers';

const update = (mm: tf.Tensor, mv: tf.Tensor, m: tf.Tensor, v: tf.Tensor, momentum: number, varianceCorrection: number) =>
  tf.engine().runKernel(MOVING_STATS_UPDATE, { movingMean: mm, movingVariance: mv, mean: m, variance: v }, { momentum, varianceCorrection }) as tf.Tensor[];

/** What core-blocks' BatchNorm computed before the kernel, op by op. */
const composed = (mm: tf.Tensor, mv: tf.Tensor, m: tf.Tensor, v: tf.Tensor, momentum: number, corr: number) => [
  tf.add(tf.mul(mm, momentum), tf.mul(m, 1 - momentum)),
  tf.add(tf.mul(mv, momentum), tf.mul(tf.mul(v, corr), 1 - momentum)),
];

describe('LmMovingStatsUpdate', () => {
  beforeAll(requireOnednn);

  it.each([
    ['onednn', 1, 0.9, 128 * 32 * 32],
    ['onednn', 67, 0.9, 50],
    ['onednn', 16, 0.1, 2],
    ['cpu', 33, 0.99, 7],
  ])('on %s, %i channels, momentum %f, %i values per channel: equals the composed ops bit for bit', (backend, c, momentum, count) => {
    tf.setBackend(backend);
    tf.tidy(() => {
      const [mm, m, v] = [rand(c), rand(c), rand(c)].map((a) => tf.tensor1d(a));
      const mv = tf.abs(tf.tensor1d(rand(c)));
      const corr = count / Math.max(count - 1, 1);
      const got = update(mm!, mv, m!, tf.abs(v!), momentum, corr).map((t) => Array.from(t.dataSync()));
      const want = composed(mm!, mv, m!, tf.abs(v!), momentum, corr).map((t) => Array.from(t.dataSync()));
      expect(got).toEqual(want);
    });
  });

  it('inside a gradient tape: no saved tensors, no gradient needed, nothing left behind', () => {
    tf.setBackend('onednn');
    const w = tf.variable(tf.tensor1d([0.5, -1, 2]));
    const moving = [tf.zeros([3]), tf.ones([3])];
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => {
      const { mean, variance } = tf.moments(tf.mul(tf.ones([4, 3]), w), [0]);
      const [mm, mv] = update(moving[0]!, moving[1]!, mean, variance, 0.9, 4 / 3);
      expect(Array.from(mm!.dataSync())).toEqual(Array.from(tf.mul(mean, Math.fround(0.1)).dataSync()));
      expect(mv!.shape).toEqual([3]);
      return tf.sum(tf.mul(w, w));
    }, [w]);
    expect(Array.from(grads[w.name]!.dataSync())).toEqual([1, -2, 4]);
    value.dispose();
    tf.dispose(grads);
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.getGradient(MOVING_STATS_UPDATE)).toBeUndefined();
  });

  it('names the kernel and the inputs when they do not match', () => {
    tf.setBackend('onednn');
    expect(() => tf.tidy(() => update(tf.zeros([3]), tf.ones([2]), tf.zeros([3]), tf.ones([3]), 0.9, 1))).toThrow(/LmMovingStatsUpdate: movingMean, movingVariance, mean and variance/);
  });
});
