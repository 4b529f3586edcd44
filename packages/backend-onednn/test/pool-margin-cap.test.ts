/**
 * LM_ONEDNN_POOL_MARGIN_MB caps the margin the pool earns by churn (src/ownership.ts), whatever the quarter of the
 * peak would allow. A file of its own: the cap is read when the package loads, and this needs a fresh pool.
 */
import { beforeAll, describe, expect, it } from 'vitest';

process.env.LM_ONEDNN_POOL_MARGIN_MB = '0.25';
const { rand, requireOnednn } = await import('./helpers');
const tf = await import('@tensorflow/tfjs-core');
const { bufferPoolStats } = await import('../src/index');

describe('buffer pool margin cap', () => {
  beforeAll(requireOnednn);

  it('a step that churns more than the cap earns the cap and no more', () => {
    tf.setBackend('onednn');
    // the pattern of pool-margin.test.ts that earns a quarter of its peak (about 0.7 MB) without the cap
    const c = tf.tensor1d(rand(300000)), d = tf.tensor1d(rand(190000));
    for (let i = 0; i < 8; i++) {
      tf.relu(c).dispose();
      tf.dispose([tf.relu(d), tf.relu(d)]);
    }
    const s = bufferPoolStats();
    expect(s.liveHighWaterBytes / 4).toBeGreaterThan(0.25 * 2 ** 20);
    expect(s.marginBytes).toBe(0.25 * 2 ** 20);
    tf.dispose([c, d]);
  });
});
