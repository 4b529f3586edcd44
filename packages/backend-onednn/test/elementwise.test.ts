import './helpers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, it } from 'vitest';

import { compareBackends, requireOnednn } from './helpers';

const broadcastPairs: Array<[number[], number[]]> = [
  [[7], [7]],
  [[3, 5, 7, 9], [3, 5, 7, 9]],
  [[3, 5, 7, 9], [9]],
  [[9], [3, 5, 7, 9]],
  [[3, 5, 7, 9], [1, 1, 1, 9]],
  [[3, 5, 7, 9], [3, 1, 1, 9]],
  [[3, 5, 7, 9], [3, 5, 7, 1]],
  [[3, 1, 7, 1], [1, 5, 1, 9]],
  [[3, 5, 7, 9], []],
  [[], [4, 3]],
  [[1], [1]],
  [[4, 16, 16, 32], [32]],
  [[2, 1, 3], [5, 1]],
  // above the parallel threshold (2^18): one collapsed row cut into pieces, a few broadcast rows, many rows
  [[262147], [262147]],
  [[5, 70001], [70001]],
  [[70001, 5], [70001, 1]],
];

describe('element-wise vs cpu', () => {
  beforeAll(requireOnednn);

  for (const [name, f] of [
    ['add', tf.add], ['sub', tf.sub], ['mul', tf.mul], ['div', tf.div],
    ['maximum', tf.maximum], ['minimum', tf.minimum], ['squaredDifference', tf.squaredDifference],
  ] as const) {
    it.each(broadcastPairs)(`${name} %j with %j`, (a, b) => {
      compareBackends([a, b], (x, y) => (f as (p: tf.Tensor, q: tf.Tensor) => tf.Tensor)(x, y));
    });
  }

  it.each([
    ['relu', (x: tf.Tensor) => tf.relu(x)],
    ['step', (x: tf.Tensor) => tf.step(x, 0.3)],
    ['neg', (x: tf.Tensor) => tf.neg(x)],
    ['square', (x: tf.Tensor) => tf.square(x)],
    ['sqrt', (x: tf.Tensor) => tf.sqrt(tf.abs(x))],
    ['rsqrt', (x: tf.Tensor) => tf.rsqrt(tf.abs(x))],
    ['exp', (x: tf.Tensor) => tf.exp(x)],
    ['log', (x: tf.Tensor) => tf.log(tf.abs(x))],
    ['abs', (x: tf.Tensor) => tf.abs(x)],
    ['sigmoid', (x: tf.Tensor) => tf.sigmoid(x)],
    ['relu6', (x: tf.Tensor) => tf.relu6(tf.mul(x, 8))],
    ['reciprocal', (x: tf.Tensor) => tf.reciprocal(x)],
    ['tanh', (x: tf.Tensor) => tf.tanh(x)],
  ] as const)('%s', (_n, f) => {
    for (const shape of [[1], [7], [3, 5, 7, 9], [4, 32, 32, 16]]) compareBackends([shape], f);
  });

  it('addN and the relu gradient (Step, Multiply)', () => {
    compareBackends([[3, 5, 7], [3, 5, 7], [3, 5, 7]], (a, b, c) => tf.addN([a, b, c]));
    compareBackends([[4, 9, 9, 8], [4, 9, 9, 8]], (x, r) => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.relu(a), r)))(x));
  });
});

describe('reductions vs cpu', () => {
  beforeAll(requireOnednn);
  const cases: Array<[number[], number | number[], boolean]> = [
    [[7], 0, false],
    [[3, 5, 7, 9], [0, 1, 2], false],
    [[3, 5, 7, 9], [0, 1, 2], true],
    [[3, 5, 7, 9], [1, 2], false],
    [[3, 5, 7, 9], 3, true],
    [[3, 5, 7, 9], [0, 2], false],
    [[3, 5, 7, 9], [1, 3], true],
    [[3, 5, 7, 9], [0, 1, 2, 3], false],
    [[3, 1, 7, 1], [1, 2], false],
    [[64, 32, 32, 16], [0, 1, 2], false],
    [[128, 10], -1, false],
  ];
  it.each(cases)('sum/mean/max/min of %j over %j keepDims=%s', (shape, axis, keepDims) => {
    compareBackends([shape], (x) => tf.sum(x, axis, keepDims));
    compareBackends([shape], (x) => tf.mean(x, axis, keepDims));
    compareBackends([shape], (x) => tf.max(x, axis, keepDims));
    compareBackends([shape], (x) => tf.min(x, axis, keepDims));
  });
  it('moments over the batch axes (batch norm statistics)', () => {
    compareBackends([[8, 16, 16, 32]], (x) => {
      const m = tf.moments(x, [0, 1, 2]);
      return [m.mean, m.variance];
    });
  });
});

describe('data movement vs cpu', () => {
  beforeAll(requireOnednn);
  it.each([
    [[128, 8, 8, 64], [0, 0, 0, 16], [128, 8, 8, 32]],
    [[3, 5, 7, 9], [1, 2, 3, 4], [2, 3, 4, 5]],
    [[3, 5, 7, 9], [0, 0, 0, 0], [3, 5, 7, 1]],
    [[5, 9], [1, 2], [3, 6]],
    [[2, 4, 6], [0, 1, 0], [2, 2, 6]],
  ])('slice of %j at %j size %j (float32 and int32)', (shape, begin, sz) => {
    compareBackends([shape], (x) => tf.slice(x, begin, sz));
    compareBackends([shape], (x) => tf.cast(tf.slice(tf.cast(tf.mul(x, 100), 'int32'), begin, sz), 'float32'));
  });
  it.each([
    [[2, 8, 8, 16], [[0, 0], [0, 0], [0, 0], [8, 8]]],
    [[3, 5, 7], [[1, 2], [0, 3], [2, 0]]],
    [[4], [[3, 1]]],
  ] as Array<[number[], Array<[number, number]>]>)('pad %j by %j (float32, int32, constant value)', (shape, p) => {
    compareBackends([shape], (x) => tf.pad(x, p));
    compareBackends([shape], (x) => tf.pad(x, p, 2.5));
    compareBackends([shape], (x) => tf.cast(tf.pad(tf.cast(tf.mul(x, 100), 'int32'), p, 7), 'float32'));
    // the gradient of pad is a slice
    compareBackends([shape], (x) => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.pad(a, p), tf.pad(a, p))))(x));
  });
});

describe('split and concat vs cpu', () => {
  beforeAll(requireOnednn);
  it.each([
    [[4, 8, 8, 64], 8, 3],
    [[4, 8, 8, 64], [16, 40, 8], 3],
    [[3, 3, 32, 64], 4, 3],
    [[3, 6, 5], 3, 1],
    [[6, 5], 2, 0],
  ] as Array<[number[], number | number[], number]>)('split %j into %j along %i, then concat back (and gradients)', (shape, n, axis) => {
    compareBackends([shape], (x) => tf.split(x, n, axis));
    compareBackends([shape], (x) => tf.concat(tf.split(x, n, axis).reverse(), axis));
    compareBackends([shape], (x) => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.concat(tf.split(a, n, axis).reverse(), axis), x)))(x));
  });
  it('concat of int32 and of mismatched sizes along the last axis', () => {
    compareBackends([[2, 3, 4], [2, 3, 7]], (a, b) => tf.concat([a, b], -1));
    compareBackends([[2, 3, 4], [2, 3, 7]], (a, b) => tf.cast(tf.concat([tf.cast(tf.mul(a, 9), 'int32'), tf.cast(tf.mul(b, 9), 'int32')], 2), 'float32'));
  });
});
