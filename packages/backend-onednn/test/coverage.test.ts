/**
 * Native coverage: every kernel the backend claims to implement natively really runs natively on inputs it
 * supports (counted by the backend, not a function-identity check), and matches cpu there.
 */
import './helpers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { batchNormTrain, nativeCoverage, onednnInfo, resetNativeCoverage } from '../src/index';
import { compareBackends, requireOnednn } from './helpers';

type T = tf.Tensor;
type T4 = tf.Tensor4D;
/** `expected`: no cpu kernel exists (LmSgdStep), so the onednn result is checked against these values. */
interface Case { shapes: number[][]; fn: (...t: T[]) => T | T[]; expected?: number[] }

const X = [2, 7, 6, 3];
const conv = (x: T, f: T) => tf.conv2d(x as T4, f as T4, 2, 'same');
const dw = (x: T, f: T) => tf.depthwiseConv2d(x as T4, f as T4, 1, 'same');
const sumMul = (y: T, r: T) => tf.sum(tf.mul(y, r));
/** LmConv2DGrouped on onednn; on cpu (no such kernel) the split/conv2d/concat it replaces. */
const grouped = (x: T, f: T) => tf.getBackend() === 'onednn'
  ? tf.engine().runKernel('LmConv2DGrouped', { x, filter: f }, { strides: 2, pad: 'same', groups: 2 }) as T
  : tf.concat(tf.split(x, 2, 3).map((xi, g) => conv(xi, tf.split(f, 2, 3)[g]!)), 3);
const lmStep = (f: T, u: T, prev: T, k: T) => tf.engine().runKernel('LmLinearMultiStep', { f, u, prev, k }, { dt: 0.5, parametrisation: 'k' }) as T;

/** One fused SGD step on a small variable (the contract of @lm/trainer's SGD; there is no cpu kernel to compare). */
function sgdOnce(): T {
  const w = tf.variable(tf.tensor([1, -2, 3, 0.5]));
  const outs = tf.engine().runKernel('LmSgdStep', { w0: w, g0: tf.tensor([0.1, 0.2, -0.3, 0.4]) },
    { count: 1, lrs: [0.5], weightDecays: [0], momentum: 0, dampening: 0, nesterov: false, hasBuffer: [false] } as unknown as tf.NamedAttrMap) as T[];
  w.dispose();
  return outs[0]!;
}

/** One supported case per native kernel: the kernel named must run natively on it. */
const CASES: Record<string, Case> = {
  Conv2D: { shapes: [X, [3, 3, 3, 4]], fn: conv },
  FusedConv2D: { shapes: [X, [3, 3, 3, 4], [4]], fn: (x, f, b) => tf.fused.conv2d({ x: x as T4, filter: f as T4, bias: b, strides: 1, pad: 'same', activation: 'relu' }) },
  Conv2DBackpropInput: { shapes: [[2, 4, 3, 4], [3, 3, 3, 4]], fn: (y, f) => tf.conv2dTranspose(y as T4, f as T4, [2, 7, 6, 3], 2, 'same') },
  Conv2DBackpropFilter: { shapes: [X, [3, 3, 3, 4], [2, 4, 3, 4]], fn: (x, f, r) => tf.grad((w: T) => sumMul(conv(x, w), r))(f) },
  DepthwiseConv2dNative: { shapes: [X, [3, 3, 3, 2]], fn: dw },
  FusedDepthwiseConv2D: { shapes: [X, [3, 3, 3, 2], [6]], fn: (x, f, b) => tf.fused.depthwiseConv2d({ x: x as T4, filter: f as T4, bias: b, strides: 1, pad: 'same', activation: 'relu' }) },
  DepthwiseConv2dNativeBackpropInput: { shapes: [X, [3, 3, 3, 2], [2, 7, 6, 6]], fn: (x, f, r) => tf.grad((a: T) => sumMul(dw(a, f), r))(x) },
  DepthwiseConv2dNativeBackpropFilter: { shapes: [X, [3, 3, 3, 2], [2, 7, 6, 6]], fn: (x, f, r) => tf.grad((w: T) => sumMul(dw(x, w), r))(f) },
  BatchMatMul: { shapes: [[3, 5, 7], [3, 7, 4]], fn: (a, b) => tf.matMul(a, b) },
  _FusedMatMul: { shapes: [[5, 7], [7, 4], [4]], fn: (a, b, c) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias: c, activation: 'relu' }) },
  FusedBatchNorm: { shapes: [X, [3], [3], [3], [3]], fn: (x, m, v, s, o) => tf.batchNorm(x, m, tf.abs(v), o, s, 1e-3) },
  MaxPool: { shapes: [X], fn: (x) => tf.maxPool(x as T4, 3, 2, 'same') },
  AvgPool: { shapes: [X], fn: (x) => tf.avgPool(x as T4, 3, 2, 'valid') },
  MaxPoolGrad: { shapes: [X, [2, 4, 3, 3]], fn: (x, r) => tf.grad((a: T) => sumMul(tf.maxPool(a as T4, 3, 2, 'same'), r))(x) },
  AvgPoolGrad: { shapes: [X, [2, 3, 2, 3]], fn: (x, r) => tf.grad((a: T) => sumMul(tf.avgPool(a as T4, 3, 2, 'valid'), r))(x) },
  Add: { shapes: [[3, 5], [5]], fn: (a, b) => tf.add(a, b) },
  Sub: { shapes: [[3, 5], [3, 1]], fn: (a, b) => tf.sub(a, b) },
  Multiply: { shapes: [[3, 5], [3, 5]], fn: (a, b) => tf.mul(a, b) },
  RealDiv: { shapes: [[3, 5], [5]], fn: (a, b) => tf.div(a, b) },
  Maximum: { shapes: [[3, 5], [3, 5]], fn: (a, b) => tf.maximum(a, b) },
  Minimum: { shapes: [[3, 5], [3, 5]], fn: (a, b) => tf.minimum(a, b) },
  SquaredDifference: { shapes: [[3, 5], [3, 5]], fn: (a, b) => tf.squaredDifference(a, b) },
  AddN: { shapes: [[3, 5], [3, 5], [3, 5]], fn: (a, b, c) => tf.addN([a, b, c]) },
  Relu: { shapes: [[7, 3]], fn: (x) => tf.relu(x) },
  Relu6: { shapes: [[7, 3]], fn: (x) => tf.relu6(tf.mul(x, 8)) },
  Step: { shapes: [[7, 3]], fn: (x) => tf.step(x, 0.1) },
  Neg: { shapes: [[7, 3]], fn: (x) => tf.neg(x) },
  Square: { shapes: [[7, 3]], fn: (x) => tf.square(x) },
  Sqrt: { shapes: [[7, 3]], fn: (x) => tf.sqrt(tf.abs(x)) },
  Rsqrt: { shapes: [[7, 3]], fn: (x) => tf.rsqrt(tf.abs(x)) },
  Exp: { shapes: [[7, 3]], fn: (x) => tf.exp(x) },
  Log: { shapes: [[7, 3]], fn: (x) => tf.log(tf.abs(x)) },
  Abs: { shapes: [[7, 3]], fn: (x) => tf.abs(x) },
  Sigmoid: { shapes: [[7, 3]], fn: (x) => tf.sigmoid(x) },
  Tanh: { shapes: [[7, 3]], fn: (x) => tf.tanh(x) },
  Reciprocal: { shapes: [[7, 3]], fn: (x) => tf.reciprocal(x) },
  Sum: { shapes: [[3, 5, 7]], fn: (x) => tf.sum(x, [0, 2]) },
  Mean: { shapes: [[3, 5, 7]], fn: (x) => tf.mean(x, 1) },
  Max: { shapes: [[3, 5, 7]], fn: (x) => tf.max(x, -1) },
  Min: { shapes: [[3, 5, 7]], fn: (x) => tf.min(x, 0) },
  Slice: { shapes: [[3, 5, 7]], fn: (x) => tf.slice(x, [1, 1, 2], [2, 3, 4]) },
  PadV2: { shapes: [[3, 5, 7]], fn: (x) => tf.pad(x, [[0, 0], [1, 2], [3, 0]], 0.5) },
  SplitV: { shapes: [[3, 5, 8]], fn: (x) => tf.split(x, [3, 5], -1) },
  Concat: { shapes: [[3, 5, 2], [3, 5, 4]], fn: (a, b) => tf.concat([a, b], -1) },
  LmReluGrad: { shapes: [[4, 5, 3], [4, 5, 3]], fn: (x, r) => tf.grad((a: T) => sumMul(tf.relu(a), r))(x) },
  LmSgdStep: { shapes: [], fn: () => sgdOnce(), expected: [0.95, -2.1, 3.15, 0.3] },
  LmBatchNormTrain: { shapes: [[2, 5, 4, 3], [3], [3]], fn: (x, s, o) => Object.values(batchNormTrain(x, s, o, 1e-3)) },
  LmLinearMultiStep: { shapes: [[2, 5, 4, 3], [2, 5, 4, 3], [2, 5, 4, 3], [3]], fn: (f, u, p, k) => lmStep(f, u, p, k) },
  LmLinearMultiStepGrad: { shapes: [[2, 5, 4, 3], [2, 5, 4, 3], [2, 5, 4, 3], [1], [2, 5, 4, 3]], fn: (f, u, p, k, r) => tf.grads((a: T, b: T, c: T, d: T) => lmStep(a, b, c, d))([f, u, p, k], r) },
  LmMovingStatsUpdate: { shapes: [[5], [5], [5], [5]], fn: (mm, mv, m, v) => tf.engine().runKernel('LmMovingStatsUpdate', { movingMean: mm, movingVariance: mv, mean: m, variance: v }, { momentum: 0.9, varianceCorrection: 1.25 }) as T[] },
  LmConv2DGrouped: { shapes: [[2, 7, 6, 4], [3, 3, 2, 6]], fn: grouped },
  LmConv2DGroupedBackpropInput: { shapes: [[2, 7, 6, 4], [3, 3, 2, 6], [2, 4, 3, 6]], fn: (x, f, r) => tf.grad((a: T) => sumMul(grouped(a, f), r))(x) },
  LmConv2DGroupedBackpropFilter: { shapes: [[2, 7, 6, 4], [3, 3, 2, 6], [2, 4, 3, 6]], fn: (x, f, r) => tf.grad((w: T) => sumMul(grouped(x, w), r))(f) },
  LmBatchNormReluTrain: { shapes: [[2, 5, 4, 3], [3], [3]], fn: (x, s, o) => (tf.engine().runKernel('LmBatchNormReluTrain', { x, scale: s, offset: o }, { epsilon: 1e-3 }) as T[]).slice(0, 3) },
  // no cpu kernel: cpu composes the reference
  LmBatchNormReluInference: {
    shapes: [X, [3], [3], [3], [3]],
    fn: (x, m, v, s, o) => tf.getBackend() === 'cpu'
      ? tf.relu(tf.batchNorm(x, m, tf.abs(v), o, s, 1e-3))
      : tf.engine().runKernel('LmBatchNormReluInference', { x, mean: m, variance: tf.abs(v), scale: s, offset: o }, { epsilon: 1e-3 }) as T,
  },
  LmBatchNormTrainGrad: { shapes: [[2, 5, 4, 3], [3], [3], [2, 5, 4, 3]], fn: (x, s, o, r) => tf.grads((a: T, b: T, c: T) => sumMul(batchNormTrain(a, b, c, 1e-3).y, r))([x, s, o]) },
};

describe('native coverage', () => {
  beforeAll(requireOnednn);

  it('every kernel claimed native has a case here', () => {
    const claimed = onednnInfo().nativeKernels;
    expect(claimed.length).toBeGreaterThan(40);
    expect(claimed.filter((k) => !(k in CASES))).toEqual([]);
  });

  it.each(Object.keys(CASES))('%s runs natively on supported inputs (and matches cpu)', (name) => {
    const c = CASES[name]!;
    if (c.expected) {
      tf.setBackend('onednn');
      resetNativeCoverage();
      const got = tf.tidy(() => Array.from((c.fn() as T).dataSync()));
      got.forEach((v, i) => expect(v).toBeCloseTo(c.expected![i]!, 6));
    } else {
      compareBackends(c.shapes, c.fn);
    }
    const cov = nativeCoverage()[name];
    expect(cov?.native, `${name} did not run natively: ${JSON.stringify(cov)}`).toBeGreaterThan(0);
    expect(cov?.fallbacks).toEqual({});
  });

  it('counts a fallback with its reason (prelu is not native)', () => {
    tf.setBackend('onednn');
    resetNativeCoverage();
    tf.tidy(() => tf.fused.conv2d({ x: tf.ones([1, 4, 4, 2]) as T4, filter: tf.ones([3, 3, 2, 2]) as T4, strides: 1, pad: 'same', bias: tf.zeros([2]), activation: 'prelu', preluActivationWeights: tf.ones([2]) }).dataSync());
    expect(nativeCoverage().FusedConv2D).toEqual({ native: 0, views: 0, fallbacks: { 'activation prelu': 1 } });
    resetNativeCoverage();
    expect(nativeCoverage()).toEqual({});
  });
});
