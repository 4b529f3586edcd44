/**
 * The pool's margin (src/ownership.ts, noteMiss): a step whose sizes do not match at its peak makes the bare peak
 * rule discard buffers that the next step allocates fresh again; such re-allocations earn the pool a margin above the
 * peak, after which the step allocates nothing fresh. A file of its own: the pool's state is per process, and this
 * needs a peak that no other test has set.
 */
import './helpers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { bufferPoolStats } from '../src/index';
import { rand, requireOnednn } from './helpers';

describe('buffer pool margin', () => {
  beforeAll(requireOnednn);

  it('a step whose sizes do not match at its peak earns a margin once, then allocates nothing fresh', () => {
    tf.setBackend('onednn');
    // a persistent tensor (the weights), then per step two buffers of one size that are freed before one of another
    // size is asked for: at that moment the bare peak rule discards the first size, which the next step asks for again
    const weights = tf.relu(tf.fill([1 << 18], 1));
    const a = tf.tensor1d(rand(12288)),
      b = tf.tensor1d(rand(20480));
    const step = () => {
      const first = [tf.relu(a), tf.relu(a)];
      tf.dispose(first);
      tf.relu(b).dispose();
    };
    const marginBefore = bufferPoolStats().marginBytes;
    const freshByStep: number[] = [];
    for (let i = 0; i < 6; i++) {
      const before = bufferPoolStats().fresh;
      step();
      freshByStep.push(bufferPoolStats().fresh - before);
    }
    const s = bufferPoolStats();
    expect(freshByStep.slice(3), `fresh allocations by step: ${freshByStep}`).toEqual([0, 0, 0]);
    // step 1 asks for a, a, b fresh, and b's discards both a's; step 2 asks for the two a's fresh again and earns
    // their bytes; from step 3 on everything is reused
    expect(freshByStep.slice(0, 3)).toEqual([3, 2, 0]);
    expect(s.marginBytes - marginBefore).toBe(2 * 12288 * 4);
    expect(s.marginBytes).toBeLessThanOrEqual(s.liveHighWaterBytes / 4);
    expect(s.liveBytes + s.pooledBytes).toBeLessThanOrEqual(s.liveHighWaterBytes + s.marginBytes);
    tf.dispose([weights, a, b]);
  });

  it('a step whose sizes match earns no margin', () => {
    tf.setBackend('onednn');
    const x = tf.tensor1d(rand(7000));
    const marginBefore = bufferPoolStats().marginBytes;
    for (let i = 0; i < 6; i++) tf.dispose([tf.relu(x), tf.relu(x)]);
    expect(bufferPoolStats().marginBytes).toBe(marginBefore);
    x.dispose();
  });

  it('the margin never passes a quarter of the peak, however much the step churns', () => {
    tf.setBackend('onednn');
    // no persistent tensor: the mismatch (c against 2 x d) is most of the peak, more than a quarter can cover
    const c = tf.tensor1d(rand(300000)),
      d = tf.tensor1d(rand(190000));
    for (let i = 0; i < 8; i++) {
      tf.relu(c).dispose();
      tf.dispose([tf.relu(d), tf.relu(d)]);
      const s = bufferPoolStats();
      expect(s.marginBytes, `step ${i}: ${JSON.stringify(s)}`).toBeLessThanOrEqual(s.liveHighWaterBytes / 4);
      expect(s.liveBytes + s.pooledBytes, `step ${i}`).toBeLessThanOrEqual(s.liveHighWaterBytes + s.marginBytes);
    }
    expect(bufferPoolStats().marginBytes).toBe(Math.floor(bufferPoolStats().liveHighWaterBytes / 4));
    tf.dispose([c, d]);
  });
});
