import './helpers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { compareBackends, rand, relError, requireOnednn, runOn } from './helpers';

type Pad = 'same' | 'valid' | number;
const cases: Array<{ x: [number, number, number, number]; k: number | [number, number]; s: number | [number, number]; pad: Pad }> = [
  { x: [1, 7, 9, 3], k: 2, s: 2, pad: 'valid' },
  { x: [2, 8, 8, 4], k: 3, s: 2, pad: 'same' },
  { x: [3, 9, 7, 5], k: 3, s: 1, pad: 'same' },
  { x: [2, 10, 10, 3], k: [3, 2], s: [2, 1], pad: 'valid' },
  { x: [2, 7, 7, 2], k: 3, s: 2, pad: 1 },
  { x: [4, 32, 32, 16], k: 2, s: 2, pad: 'valid' },
];

describe('pooling vs cpu', () => {
  beforeAll(requireOnednn);

  it.each(cases)('MaxPool and AvgPool forward x$x k$k s$s pad $pad', (c) => {
    compareBackends([c.x], (x) => tf.maxPool(x as tf.Tensor4D, c.k, c.s, c.pad));
    compareBackends([c.x], (x) => tf.avgPool(x as tf.Tensor4D, c.k, c.s, c.pad));
  });

  it.each(cases)('MaxPoolGrad x$x k$k s$s pad $pad', (c) => {
    const yShape = tf.tidy(() => tf.maxPool(tf.zeros(c.x) as tf.Tensor4D, c.k, c.s, c.pad).shape);
    compareBackends([c.x, yShape], (x, r) => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, c.k, c.s, c.pad), r)))(x));
  });

  it.each(cases.filter((c) => c.pad === 'valid'))('AvgPoolGrad (no padding) x$x k$k s$s', (c) => {
    const yShape = tf.tidy(() => tf.avgPool(tf.zeros(c.x) as tf.Tensor4D, c.k, c.s, c.pad).shape);
    compareBackends([c.x, yShape], (x, r) => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(a as tf.Tensor4D, c.k, c.s, c.pad), r)))(x));
  });

  it('AvgPoolGrad with padding is the true gradient of AvgPool (padding excluded), checked by finite differences', () => {
    const shape: [number, number, number, number] = [1, 5, 5, 2];
    const xs = rand(50), r = rand(18);
    const f = (x: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(x as tf.Tensor4D, 3, 2, 'same'), tf.tensor(r, [1, 3, 3, 2])));
    const [g] = runOn('onednn', [{ shape, values: xs }], (x) => tf.grad(f)(x));
    const num = new Float32Array(50);
    tf.setBackend('cpu');
    for (let i = 0; i < 50; i++) {
      // avgPool is linear, so a unit perturbation gives the derivative exactly (up to rounding).
      const e = new Float32Array(50);
      e[i] = 1;
      num[i] = tf.tidy(() => f(tf.tensor(e, shape)).dataSync()[0]);
    }
    expect(relError(g, num)).toBeLessThan(1e-5);
  });
});
