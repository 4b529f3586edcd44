/** Output-buffer reuse (src/ownership.ts): a repeated computation takes every output buffer from the pool. */
import './helpers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { bufferPoolStats, resetBufferPoolStats } from '../src/index';
import { rand, requireOnednn } from './helpers';

describe('buffer pool', () => {
  beforeAll(requireOnednn);

  it('a second identical training-like step allocates no fresh buffer, and results stay right', () => {
    tf.setBackend('onednn');
    const x = tf.tensor(rand(2 * 9 * 9 * 4), [2, 9, 9, 4]);
    const w = tf.variable(tf.tensor(rand(3 * 3 * 4 * 5), [3, 3, 4, 5]));
    const step = () => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.relu(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'))), [w]);
      const out = [value.dataSync()[0]!, grads[w.name]!.dataSync()[0]!];
      tf.dispose([value, grads[w.name]!]);
      return out;
    };
    const first = step();
    resetBufferPoolStats();
    const second = step();
    const s = bufferPoolStats();
    expect(s.reused).toBeGreaterThan(3);
    // the values read through dataSync escaped to JavaScript and are never recycled: one fresh buffer per read
    expect(s.fresh, JSON.stringify(s)).toBeLessThanOrEqual(2);
    expect(second).toEqual(first);
    tf.dispose([x, w]);
  });
});
