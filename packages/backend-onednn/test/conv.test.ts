import './helpers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { compareBackends, requireOnednn } from './helpers';

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
const explicit: Pad = [[0, 0], [1, 2], [0, 1], [0, 0]];

interface Case { x: [number, number, number, number]; f: [number, number, number, number]; s: number | [number, number]; pad: Pad; d?: number }
const cases: Case[] = [
  { x: [1, 7, 9, 3], f: [3, 3, 3, 5], s: 1, pad: 'same' },
  { x: [1, 7, 9, 3], f: [3, 3, 3, 5], s: 2, pad: 'same' },
  { x: [3, 8, 8, 4], f: [3, 3, 4, 6], s: 1, pad: 'valid' },
  { x: [3, 9, 7, 4], f: [3, 3, 4, 6], s: 2, pad: 'valid' },
  { x: [2, 11, 10, 5], f: [5, 3, 5, 7], s: [2, 1], pad: 'same' },
  { x: [2, 6, 7, 3], f: [3, 2, 3, 4], s: 1, pad: explicit },
  { x: [2, 9, 9, 3], f: [3, 3, 3, 4], s: 2, pad: explicit },
  { x: [2, 8, 8, 6], f: [1, 1, 6, 9], s: 2, pad: 'same' },
  { x: [1, 5, 5, 2], f: [2, 2, 2, 3], s: 1, pad: 1 },
  { x: [2, 10, 9, 3], f: [3, 3, 3, 4], s: 1, pad: 'same', d: 2 },
  { x: [4, 32, 32, 16], f: [3, 3, 16, 16], s: 1, pad: 'same' },
  { x: [4, 32, 32, 16], f: [3, 3, 16, 32], s: 2, pad: 'same' },
];
const name = (c: Case) => `x${c.x} f${c.f} s${c.s} pad ${JSON.stringify(c.pad)}${c.d ? ` d${c.d}` : ''}`;

describe('convolution vs cpu', () => {
  beforeAll(requireOnednn);

  it.each(cases)('Conv2D $x $f', (c) => {
    compareBackends([c.x, c.f], (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.s, c.pad, 'NHWC', c.d ?? 1));
  });

  it.each(cases.filter((c) => !c.d))('Conv2DBackpropInput and Conv2DBackpropFilter $x $f', (c) => {
    const y = tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.f) as tf.Tensor4D, c.s, c.pad));
    const yShape = y.shape;
    y.dispose();
    // d/dx and d/dw of sum(conv(x, w) * r) with a random r run exactly the two backprop kernels.
    compareBackends([c.x, c.f, yShape], (x, f, r) =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad), r)))([x, f]));
  });

  it('conv2dTranspose (Conv2DBackpropInput as a forward op)', () => {
    compareBackends([[2, 5, 5, 6], [3, 3, 4, 6]], (x, f) => tf.conv2dTranspose(x as tf.Tensor4D, f as tf.Tensor4D, [2, 10, 10, 4], 2, 'same'));
  });

  it.each(['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid', 'prelu'] as const)('FusedConv2D with bias and %s', (act) => {
    compareBackends([[2, 9, 7, 3], [3, 3, 3, 5], [5], [5]], (x, f, b, a) =>
      tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 2, pad: 'same', bias: b, activation: act, preluActivationWeights: act === 'prelu' ? a : undefined, leakyreluAlpha: 0.3 }),
    { expect: act === 'prelu' ? 'fallback' : 'native' });
  });

  it('FusedConv2D without bias, valid padding, and with a broadcast (non-channel) bias', () => {
    compareBackends([[1, 6, 6, 2], [2, 2, 2, 3]], (x, f) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 1, pad: 'valid', activation: 'relu' }));
    compareBackends([[1, 6, 6, 2], [2, 2, 2, 3], [5, 1, 3]], (x, f, b) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 1, pad: 'valid', bias: b }), { expect: 'fallback' });
  });

  it.each([
    { x: [2, 9, 8, 4] as [number, number, number, number], m: 1, s: 1, pad: 'same' as Pad },
    { x: [1, 9, 8, 3] as [number, number, number, number], m: 2, s: 2, pad: 'same' as Pad },
    { x: [2, 7, 7, 5] as [number, number, number, number], m: 1, s: 2, pad: 'valid' as Pad },
    { x: [2, 7, 6, 3] as [number, number, number, number], m: 3, s: 1, pad: explicit },
  ])('depthwise conv (forward and both gradients) x$x mult $m', (c) => {
    const f: [number, number, number, number] = [3, 3, c.x[3], c.m];
    compareBackends([c.x, f], (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad as 'same'));
    const yShape = tf.tidy(() => tf.depthwiseConv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(f) as tf.Tensor4D, c.s, c.pad as 'same').shape);
    compareBackends([c.x, f, yShape], (x, w, r) =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad as 'same'), r)))([x, w]));
  });

  void name;
});
