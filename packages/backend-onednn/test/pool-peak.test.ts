/**
 * The buffer pool does not raise the peak (src/ownership.ts): live plus pooled bytes stay under the most ever live
 * plus a margin that only churn earns (at most a quarter of the peak; pool-margin.test.ts), and a buffer the pool
 * lets go returns its pages to the OS at once (native/memory.cc), not at the next GC.
 */
import './helpers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { bufferPoolStats } from '../src/index';
import { rand, requireOnednn } from './helpers';

const MB = 2 ** 20;

describe('buffer pool and the peak', () => {
  beforeAll(requireOnednn);

  it('a discarded buffer leaves the resident set at once', () => {
    tf.setBackend('onednn');
    // inputs first (JS-allocated, not the pool's); relu outputs are the pool's buffers
    const a = tf.fill([16 * MB], 1.5), b = tf.fill([16 * MB + 1024], -0.5);
    const big = tf.relu(a);
    big.dispose(); // pooled: 64 MB live before, none now
    const released = bufferPoolStats().releasedBytes;
    const before = process.memoryUsage.rss();
    // a buffer of another size: live + pooled would pass the peak, so the pooled one goes
    const other = tf.relu(b);
    const grown = process.memoryUsage.rss() - before;
    expect(bufferPoolStats().releasedBytes - released).toBeGreaterThan(60 * MB);
    expect(grown, `resident set grew by ${(grown / MB).toFixed(1)} MB`).toBeLessThan(32 * MB);
    expect(other.dataSync()[0]).toBe(0);
    tf.dispose([a, b, other]);
  });

  it('live plus pooled never exceed the most ever live, over a random run of allocations and frees', () => {
    tf.setBackend('onednn');
    const sizes = [4096, 6144, 10240, 3000];
    const inputs = sizes.map((n) => tf.tensor1d(rand(n)));
    const held: tf.Tensor[] = [];
    let seed = 12345;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    let reusedBefore = bufferPoolStats().reused;
    for (let i = 0; i < 400; i++) {
      if (held.length && next() < 0.45) held.splice(Math.floor(next() * held.length), 1)[0]!.dispose();
      else held.push(tf.relu(inputs[Math.floor(next() * sizes.length)]!));
      const s = bufferPoolStats();
      expect(s.liveBytes + s.pooledBytes, `step ${i}: ${JSON.stringify(s)}`).toBeLessThanOrEqual(s.liveHighWaterBytes + s.marginBytes);
      expect(s.marginBytes, `step ${i}`).toBeLessThanOrEqual(s.liveHighWaterBytes / 4);
    }
    // the pool still serves: most allocations of a repeated pattern are reuses
    tf.dispose(held.splice(0));
    reusedBefore = bufferPoolStats().reused;
    for (let r = 0; r < 5; r++) tf.dispose(inputs.map((x) => tf.relu(x)));
    expect(bufferPoolStats().reused - reusedBefore).toBeGreaterThanOrEqual(15);
    tf.dispose(inputs);
  });

});
