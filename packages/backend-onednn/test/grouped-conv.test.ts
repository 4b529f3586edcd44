/**
 * The grouped convolution kernels (LmConv2DGrouped and its two gradient kernels) against the cpu backend's
 * split/conv2d/concat on the same random inputs: forward output and both gradients, and the cpu-kernel
 * composition that answers inputs which are not float32.
 */
import './helpers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { GROUPED_CONV2D, GROUPED_CONV2D_BACKPROP_FILTER, GROUPED_CONV2D_BACKPROP_INPUT, nativeCoverage, resetNativeCoverage } from '../src/index';
import { compareBackends, relError, requireOnednn } from './helpers';

type T4 = tf.Tensor4D;
type Pad = 'same' | 'valid';

/** The kernel on onednn; on cpu, the composition it replaces (what @lm/core-blocks runs there). */
function grouped(x: tf.Tensor, f: tf.Tensor, strides: number, pad: Pad, groups: number): tf.Tensor {
  if (tf.getBackend() === 'onednn') return tf.engine().runKernel(GROUPED_CONV2D, { x, filter: f }, { strides, pad, groups }) as tf.Tensor;
  if (groups === 1) return tf.conv2d(x as T4, f as T4, strides, pad);
  const xs = tf.split(x, groups, 3), fs = tf.split(f, groups, 3);
  return tf.concat(xs.map((xi, g) => tf.conv2d(xi as T4, fs[g] as T4, strides, pad)), 3);
}

interface Case { x: [number, number, number, number]; k: number; out: number; s: number; pad: Pad; groups: number }
const cases: Case[] = [
  { x: [2, 7, 7, 3], k: 3, out: 5, s: 2, pad: 'same', groups: 1 },
  { x: [1, 7, 9, 8], k: 3, out: 6, s: 1, pad: 'same', groups: 2 },
  { x: [2, 9, 7, 8], k: 3, out: 16, s: 2, pad: 'same', groups: 8 },
  { x: [3, 8, 8, 16], k: 3, out: 16, s: 2, pad: 'valid', groups: 8 },
  { x: [1, 9, 9, 16], k: 1, out: 24, s: 2, pad: 'same', groups: 8 },
  { x: [2, 5, 6, 6], k: 1, out: 12, s: 1, pad: 'valid', groups: 2 },
  { x: [2, 9, 8, 6], k: 3, out: 6, s: 1, pad: 'same', groups: 6 },
  { x: [1, 7, 7, 4], k: 3, out: 8, s: 2, pad: 'valid', groups: 4 },
  { x: [2, 8, 8, 64], k: 3, out: 64, s: 1, pad: 'same', groups: 8 },
  { x: [1, 9, 7, 32], k: 3, out: 16, s: 2, pad: 'same', groups: 2 },
  { x: [3, 6, 5, 16], k: 1, out: 24, s: 1, pad: 'valid', groups: 2 },
];
const filterShape = (c: Case): [number, number, number, number] => [c.k, c.k, c.x[3] / c.groups, c.out];

function expectNative(...kernels: string[]): void {
  const cov = nativeCoverage();
  for (const k of kernels) expect(cov[k], `${k} did not run natively: ${JSON.stringify(cov[k])}`).toEqual({ native: 1, views: 0, fallbacks: {} });
}

describe('grouped convolution vs cpu split/conv2d/concat', () => {
  beforeAll(requireOnednn);

  it.each(cases)('forward x$x k$k out $out s$s $pad groups $groups', (c) => {
    compareBackends([c.x, filterShape(c)], (x, f) => grouped(x, f, c.s, c.pad, c.groups));
    expectNative(GROUPED_CONV2D);
  });

  it.each(cases)('both gradients x$x k$k out $out s$s $pad groups $groups', (c) => {
    const yShape = tf.tidy(() => grouped(tf.zeros(c.x), tf.zeros(filterShape(c)), c.s, c.pad, c.groups).shape);
    // d/dx and d/dfilter of sum(conv(x, filter) * r) with a random r: exactly the two gradient kernels.
    compareBackends([c.x, filterShape(c), yShape], (x, f, r) =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(grouped(a, b, c.s, c.pad, c.groups), r)))([x, f]));
    expectNative(GROUPED_CONV2D, GROUPED_CONV2D_BACKPROP_INPUT, GROUPED_CONV2D_BACKPROP_FILTER);
  });

  it('int32 inputs run the split/conv2d/concat composition on cpu kernels (counted as fallbacks), same values', () => {
    tf.setBackend('onednn');
    const c: Case = { x: [2, 7, 6, 8], k: 3, out: 12, s: 2, pad: 'same', groups: 4 };
    const a = { strides: c.s, pad: c.pad, groups: c.groups };
    const yShape = tf.tidy(() => grouped(tf.zeros(c.x), tf.zeros(filterShape(c)), c.s, c.pad, c.groups).shape);
    // Small integers: every product and sum is exact in float32, so the two paths must agree exactly.
    const ints = (dtype: 'int32' | 'float32') => (shape: number[], salt: number) =>
      tf.tensor(Array.from({ length: shape.reduce((p, d) => p * d, 1) }, (_, i) => ((i * 7 + salt) % 5) - 2), shape, dtype);
    const runs: Array<[string, (ints: (shape: number[], salt: number) => tf.Tensor) => tf.Tensor]> = [
      [GROUPED_CONV2D, (ints) => tf.engine().runKernel(GROUPED_CONV2D, { x: ints(c.x, 1), filter: ints(filterShape(c), 2) }, a) as tf.Tensor],
      [GROUPED_CONV2D_BACKPROP_INPUT, (ints) => tf.engine().runKernel(GROUPED_CONV2D_BACKPROP_INPUT,
        { dy: ints(yShape, 3), filter: ints(filterShape(c), 2) }, { ...a, inputShape: c.x }) as tf.Tensor],
      [GROUPED_CONV2D_BACKPROP_FILTER, (ints) => tf.engine().runKernel(GROUPED_CONV2D_BACKPROP_FILTER,
        { x: ints(c.x, 1), dy: ints(yShape, 3) }, { ...a, filterShape: filterShape(c) }) as tf.Tensor],
    ];
    for (const [name, run] of runs) {
      resetNativeCoverage();
      const viaCpu = tf.tidy(() => Float32Array.from(run(ints('int32')).dataSync()));
      expect(nativeCoverage()[name], name).toEqual({ native: 0, views: 0, fallbacks: { 'not float32': 1 } });
      const native = tf.tidy(() => Float32Array.from(run(ints('float32')).dataSync()));
      expect(nativeCoverage()[name]!.native, name).toBe(1);
      expect(viaCpu.some((v) => v !== 0), `${name}: all zeros`).toBe(true);
      expect(relError(viaCpu, native), name).toBe(0);
    }
  });

  it('rejects shapes outside the contract with errors naming the kernel', () => {
    tf.setBackend('onednn');
    const run = (x: number[], f: number[], groups: number, pad: string = 'same') =>
      tf.tidy(() => tf.engine().runKernel(GROUPED_CONV2D, { x: tf.zeros(x), filter: tf.zeros(f) }, { strides: 1, pad, groups }));
    expect(() => run([1, 4, 4, 6], [3, 3, 3, 4], 4)).toThrow(/LmConv2DGrouped: x has 6 channels, which must be groups \(4\) × the filter's input channels \(3\)/);
    expect(() => run([1, 4, 4, 6], [3, 3, 3, 5], 2)).toThrow(/LmConv2DGrouped: the filter's 5 output channels must be divisible by groups \(2\)/);
    expect(() => run([1, 4, 4, 6], [3, 3, 3, 4], 2, 'causal')).toThrow(/LmConv2DGrouped: attr pad must be 'same' or 'valid'/);
  });
});
