/**
 * LM_ONEDNN_BLOCKED=0 keeps every activation NHWC (src/layout.ts). A file of its own: the setting is read once.
 */
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

process.env.LM_ONEDNN_BLOCKED = '0';
const { compareBackends, rand, requireOnednn } = await import('./helpers');
const tf = await import('@tensorflow/tfjs-core');
const { activationBlock } = await import('../src/index');
const { blockedCopy } = await import('../src/layout');

describe('LM_ONEDNN_BLOCKED=0', () => {
  beforeAll(requireOnednn);

  it('turns blocked activations off and the kernels still match cpu', () => {
    tf.setBackend('onednn');
    expect(activationBlock()).toBe(0);
    // a training forward (a gradient tape records), where convolutions would otherwise block their outputs
    const x = tf.tensor4d(rand(2 * 4 * 4 * 16), [2, 4, 4, 16]), w = tf.tensor4d(rand(9 * 16 * 16), [3, 3, 16, 16]);
    let y: Tensor | undefined;
    tf.dispose(tf.grad((xx: Tensor) => tf.sum((y = tf.keep(tf.conv2d(xx as Tensor4D, w, 1, 'same')))))(x));
    expect(blockedCopy(tf.backend() as never, y!)).toBeUndefined();
    tf.dispose([x, w, y!]);
    compareBackends([[2, 5, 4, 16], [3, 3, 16, 16]], (x, w) => tf.grads((a: Tensor, b: Tensor) => tf.sum(tf.relu(tf.conv2d(a as Tensor4D, b as Tensor4D, 1, 'same'))))([x, w]));
  });
});
