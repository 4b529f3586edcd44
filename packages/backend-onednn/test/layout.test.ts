/**
 * Blocked activations (src/layout.ts): oneDNN's nChw8c / nChw16c copies of 4-D tensors behind the NHWC contract.
 * The reorder's element map, which kernels leave their outputs blocked, that every mix of blocked and NHWC operands
 * (and reshapes of a blocked entry) computes what cpu computes, gradients through a conv/BN/residual chain, and
 * that disposing returns every copy's buffer.
 */
import './helpers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { activationBlock, setBlockedActivations, BATCH_NORM_RELU_TRAIN, bufferPoolStats, GROUPED_CONV2D, LM_STEP, LM_STEP_GRAD, tryLoadAddon } from '../src/index';
import { blockedCopy } from '../src/layout';
import type { Backend } from '../src/util';
import { compareBackends, rand, requireOnednn } from './helpers';

type T4 = tf.Tensor4D;
const backend = () => tf.backend() as unknown as Backend;
/** fn's tensors made while a gradient tape records, as in a training step's forward pass, kept past the tape. */
function recording<T extends tf.Tensor | tf.Tensor[]>(fn: () => T): T {
  let out: T | undefined;
  const one = tf.scalar(1);
  tf.dispose(tf.grad((s: tf.Tensor) => {
    out = fn();
    for (const t of Array.isArray(out) ? out : [out]) tf.keep(t);
    return tf.mul(s, 1);
  })(one));
  one.dispose();
  return out!;
}
/** An exact copy of x (1x1 convolution with the identity) made in a training forward: on onednn its entry holds only a blocked copy. */
const blockedCopyOf = (x: tf.Tensor) => recording(() => tf.conv2d(x as T4, tf.reshape(tf.eye(x.shape[3]!), [1, 1, x.shape[3]!, x.shape[3]!]) as T4, 1, 'valid'));
const entry = (t: tf.Tensor) => (tf.backend() as unknown as { data: { get(id: object): Record<string, unknown> } }).data.get(t.dataId);
const storesPlain = (t: tf.Tensor) => 'value' in (Object.getOwnPropertyDescriptor(entry(t), 'values') ?? {}) || entry(t).lmPlain !== undefined;

describe('blocked activations', () => {
  beforeAll(requireOnednn);
  // compareBackends leaves cpu active
  beforeEach(() => void tf.setBackend('onednn'));

  it('oneDNN picks a channel block here, and the reorder puts (n, c, h, w) at ((n·C/b + c/b)·H·W + h·W + w)·b + c%b', () => {
    expect([8, 16]).toContain(activationBlock());
    const addon = tryLoadAddon().addon!;
    const [N, H, W, C] = [2, 3, 5, 32];
    const plain = Float32Array.from({ length: N * H * W * C }, (_, i) => i);
    for (const b of [8, 16]) {
      const blocked = new Float32Array(plain.length), back = new Float32Array(plain.length);
      addon.reorderActivation(plain, blocked, [N, H, W, C], b, true);
      for (let n = 0; n < N; n++)
        for (let h = 0; h < H; h++)
          for (let w = 0; w < W; w++)
            for (let c = 0; c < C; c++)
              expect(blocked[((n * (C / b) + Math.floor(c / b)) * H * W + h * W + w) * b + (c % b)]).toBe(plain[((n * H + h) * W + w) * C + c]);
      addon.reorderActivation(blocked, back, [N, H, W, C], b, false);
      expect(back).toEqual(plain);
    }
    expect(() => addon.reorderActivation(plain, new Float32Array(3), [N, H, W, C], 8, true)).toThrow(/N·H·W·C elements/);
    expect(() => addon.reorderActivation(plain, new Float32Array(plain.length), [N, H, W, 12], 8, true)).toThrow(/divide the channels/);
  });

  it('in a training forward, a convolution leaves its output blocked until it is read; a stem on 3 channels and a depthwise one stay NHWC', () => {
    const b = activationBlock();
    const x = tf.tensor4d(rand(2 * 6 * 6 * b), [2, 6, 6, b]);
    const y = recording(() => tf.conv2d(x, tf.tensor4d(rand(9 * b * 2 * b), [3, 3, b, 2 * b]), 1, 'same'));
    expect(blockedCopy(backend(), y)).toBeDefined();
    expect(storesPlain(y)).toBe(false);
    const read = y.dataSync();
    expect(storesPlain(y)).toBe(true);
    expect(read.length).toBe(2 * 6 * 6 * 2 * b);
    const [stem, dw, grouped] = recording(() => [
      tf.conv2d(tf.tensor4d(rand(2 * 6 * 6 * 3), [2, 6, 6, 3]), tf.tensor4d(rand(9 * 3 * b), [3, 3, 3, b]), 1, 'same'),
      tf.depthwiseConv2d(x, tf.tensor4d(rand(9 * b), [3, 3, b, 1]), 1, 'same'),
      tf.engine().runKernel(GROUPED_CONV2D, { x: y, filter: tf.tensor4d(rand(9 * b * 2 * b), [3, 3, b, 2 * b]) }, { strides: 1, pad: 'same', groups: 2 }) as tf.Tensor,
    ]);
    expect(blockedCopy(backend(), stem!)).toBeUndefined();
    expect(blockedCopy(backend(), dw!)).toBeUndefined();
    expect(blockedCopy(backend(), grouped!)).toBeDefined();
    tf.dispose([x, y, stem!, dw!, grouped!]);
  });

  it('a forward-only pass (inference) stays NHWC, and reads a blocked input as cpu does', () => {
    const b = activationBlock();
    const x = tf.tensor4d(rand(2 * 5 * 4 * b), [2, 5, 4, b]);
    const w = tf.tensor4d(rand(9 * b * b), [3, 3, b, b]);
    const y = tf.conv2d(x, w, 1, 'same');
    const x2 = tf.tensor4d(rand(2 * 5 * 4 * 2 * b), [2, 5, 4, 2 * b]);
    const grouped = tf.engine().runKernel(GROUPED_CONV2D, { x: x2, filter: tf.tensor4d(rand(9 * b * 2 * b), [3, 3, b, 2 * b]) }, { strides: 1, pad: 'same', groups: 2 }) as tf.Tensor;
    expect(blockedCopy(backend(), y)).toBeUndefined();
    expect(blockedCopy(backend(), grouped)).toBeUndefined();
    expect(storesPlain(y)).toBe(true);
    compareBackends([[2, 5, 4, b], [3, 3, b, b]], (xx, ww) => tf.conv2d(blockedCopyOf(xx) as T4, ww as T4, 1, 'same'));
    tf.dispose([x, x2, w, y, grouped]);
  });

  it('element-wise ops on blocked, NHWC and single-value operands in every mix give cpu results', () => {
    const s = [2, 5, 3, 2 * activationBlock()];
    const C = s[3]!;
    compareBackends([s, s, [C], [1]], (a, b, bias, k) => {
      const ab = blockedCopyOf(a), bb = blockedCopyOf(b);
      return [
        tf.add(ab, b), tf.sub(a, bb), tf.mul(ab, bb), tf.mul(ab, k), tf.div(k, bb), tf.add(ab, bias), tf.relu(tf.neg(ab)),
        tf.addN([ab, b, bb]), tf.maximum(ab, a), tf.squaredDifference(bb, a),
      ];
    });
  });

  it('the LM update runs blocked with a single k and in NHWC with one k per channel, as on cpu', () => {
    const s = [2, 4, 3, activationBlock()];
    for (const kShape of [[1], [s[3]!]])
      compareBackends([s, s, s, kShape], (f, u, prev, k) => {
        const fb = blockedCopyOf(f), ub = blockedCopyOf(u);
        return [tf.engine().runKernel(LM_STEP, { f: fb, u: ub, prev, k }, { dt: 0.5, parametrisation: 'k' }) as tf.Tensor];
      });
  });

  it('the LM gradient adds held gradients in either layout into blocked operands, as on cpu', () => {
    const s = [2, 4, 3, activationBlock()];
    compareBackends([s, s, s, [1], s, s], (dy, u, prev, k, a, b) => {
      const [dyb, ub, ab] = [dy!, u!, a!].map(blockedCopyOf);
      if (tf.getBackend() === 'onednn') expect([dyb, ub, ab].every((t) => blockedCopy(backend(), t!) !== undefined)).toBe(true);
      return tf.engine().runKernel(LM_STEP_GRAD, { dy: dyb!, u: ub!, prev: prev!, k: k!, duAcc: ab!, dprevAcc: b! }, { dt: 1, parametrisation: 'k' }) as tf.Tensor[];
    });
  });

  it('a reshape of a blocked entry is read in its own shape: another 4-D shape, 2-D into a matMul', () => {
    const b = activationBlock();
    compareBackends([[2, 4, 4, b], [1, 1, b, b], [b, 3]], (x, w, m) => {
      const y = blockedCopyOf(x);
      const other = tf.reshape(y, [2, 8, 2, b]);
      return [tf.conv2d(other as T4, w as T4, 1, 'same'), tf.add(other, tf.reshape(x, [2, 8, 2, b])), tf.matMul(tf.reshape(y, [32, b]), m), tf.mean(y, [1, 2])];
    });
  });

  it('gradients through conv, batch norm + ReLU, a residual sum and ReLU match cpu', () => {
    const C = 2 * activationBlock();
    compareBackends([[2, 6, 5, C], [3, 3, C, C], [1, 1, C, C], [C], [C]], (x, w1, w2, scale, offset) => {
      const loss = (xx: tf.Tensor, a: tf.Tensor, bw: tf.Tensor, sc: tf.Tensor, of: tf.Tensor) => {
        const h = tf.conv2d(xx as T4, a as T4, 1, 'same');
        const [bn] = tf.engine().runKernel(BATCH_NORM_RELU_TRAIN, { x: h, scale: sc, offset: of }, { epsilon: 1e-3 }) as tf.Tensor[];
        const out = tf.relu(tf.add(xx, tf.conv2d(bn as T4, bw as T4, 1, 'same')));
        return tf.sum(tf.mul(out, tf.mod(tf.reshape(tf.range(0, out.size), out.shape), 7)));
      };
      return tf.grads(loss)([x, w1, w2, scale, offset]);
    }, 1e-3);
  });

  it('setBlockedActivations(false) keeps the next kernels NHWC, tensors of either setting mix, and undefined restores the default', () => {
    const b = activationBlock();
    compareBackends([[2, 4, 4, b], [3, 3, b, b]], (x, w) => {
      const conv = (t: tf.Tensor) => tf.conv2d(t as T4, w as T4, 1, 'same');
      const blocked = recording(() => conv(x));
      setBlockedActivations(false);
      try {
        expect(activationBlock()).toBe(0);
        const plain = recording(() => conv(blocked));
        if (tf.getBackend() === 'onednn') expect(blockedCopy(backend(), plain)).toBeUndefined();
        return [blocked, plain, tf.add(blocked, plain)];
      } finally {
        setBlockedActivations(undefined);
      }
    });
    expect(activationBlock()).toBe(b);
  });

  it('disposing returns the buffers of both copies, the made and the converted ones', () => {
    const b = activationBlock();
    const x = tf.tensor4d(rand(4 * 8 * 8 * b), [4, 8, 8, b]);
    const w = tf.tensor4d(rand(b * b), [1, 1, b, b]);
    const before = bufferPoolStats().liveBytes, tensors = tf.memory().numTensors;
    const y = recording(() => tf.conv2d(x, w, 1, 'valid'));
    y.dataSync();
    // the convolution's blocked copy of x (x's entry keeps it) and y's two copies
    const z = tf.add(y, x);
    expect(blockedCopy(backend(), x)).toBeDefined();
    tf.dispose([y, z]);
    expect(tf.memory().numTensors).toBe(tensors);
    const withX = bufferPoolStats().liveBytes;
    expect(withX - before).toBe(4 * 8 * 8 * b * 4);
    tf.dispose([x, w]);
    expect(bufferPoolStats().liveBytes).toBe(before);
  });
});
