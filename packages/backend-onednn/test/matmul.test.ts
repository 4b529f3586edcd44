import './helpers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, it } from 'vitest';

import { compareBackends, requireOnednn } from './helpers';

describe('matmul vs cpu', () => {
  beforeAll(requireOnednn);

  it.each([
    { a: [1, 1], b: [1, 1], ta: false, tb: false },
    { a: [5, 7], b: [7, 3], ta: false, tb: false },
    { a: [7, 5], b: [7, 3], ta: true, tb: false },
    { a: [5, 7], b: [3, 7], ta: false, tb: true },
    { a: [7, 5], b: [3, 7], ta: true, tb: true },
    { a: [128, 64], b: [64, 10], ta: false, tb: false },
    { a: [3, 5, 7], b: [3, 7, 4], ta: false, tb: false },
    { a: [3, 7, 5], b: [3, 4, 7], ta: true, tb: true },
    { a: [2, 3, 5, 7], b: [7, 4], ta: false, tb: false },
    { a: [5, 7], b: [2, 7, 4], ta: false, tb: false },
    { a: [1, 5, 7], b: [3, 7, 4], ta: false, tb: false },
    { a: [2, 1, 5, 7], b: [1, 3, 7, 4], ta: false, tb: false, fallback: true }, // mixed broadcast: falls back to cpu
  ])('BatchMatMul a$a b$b ta=$ta tb=$tb', (c) => {
    compareBackends([c.a, c.b], (a, b) => tf.matMul(a, b, c.ta, c.tb), { expect: 'fallback' in c ? 'fallback' : 'native' });
  });

  it.each(['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid', 'prelu'] as const)('_FusedMatMul with bias and %s', (act) => {
    compareBackends([[9, 6], [6, 5], [5], [5]], (a, b, bias, alpha) =>
      tf.fused.matMul({ a, b, bias, activation: act, preluActivationWeights: act === 'prelu' ? alpha : undefined, leakyreluAlpha: 0.3 }),
    { expect: act === 'prelu' ? 'fallback' : 'native' });
  });

  it('_FusedMatMul transposed, without bias, and its gradients (BatchMatMul)', () => {
    compareBackends([[6, 9], [5, 6]], (a, b) => tf.fused.matMul({ a, b, transposeA: true, transposeB: true, activation: 'relu' }));
    compareBackends([[9, 6], [6, 5], [5], [9, 5]], (a, b, bias, r) =>
      tf.grads((x: tf.Tensor, w: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.mul(tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: c, activation: 'relu' }), r)))([a, b, bias]));
  });
});
