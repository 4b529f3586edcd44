import './helpers';
import * as tf from '@tensorflow/tfjs-core';
import { train } from '@tensorflow/tfjs-core';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';

import { buildResNet, trainingLoss } from './fixtures/resnet';
import { rand, requireOnednn } from './helpers';

// A full GC before each RSS sample, so the samples measure live memory rather than GC timing.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Least-squares slope of y over x = 0..n-1. */
function slope(y: number[]): number {
  const n = y.length;
  const mx = (n - 1) / 2;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) {
    num += (i - mx) * (y[i] - my);
    den += (i - mx) ** 2;
  }
  return num / den;
}

describe('memory over 200 training steps on onednn', () => {
  beforeAll(requireOnednn);

  it.each(['resnet20', 'lm-resnet20'] as const)('%s: numTensors constant, RSS without growth trend', (kind) => {
    tf.setBackend('onednn');
    // A reduced model (1 block per stage, 16x16 input, batch 4): every native kernel of the full step, 200 times quickly.
    const model = buildResNet(kind, { blocks: 1, inputShape: [16, 16, 3], seed: 3 });
    const opt = train.momentum(0.01, 0.9);
    const x = tf.tensor(rand(4 * 16 * 16 * 3), [4, 16, 16, 3]);
    const y = tf.oneHot(tf.tensor1d([1, 2, 3, 4], 'int32'), 10);
    const counts: number[] = [];
    const rss: number[] = [];
    // glibc's arenas grow for ~100 steps before RSS settles; then 200 measured steps.
    const warmup = 100;
    for (let i = 0; i < warmup + 200; i++) {
      const loss = opt.minimize(() => trainingLoss(model, x, y), true);
      loss!.dataSync();
      loss!.dispose();
      if (i >= warmup) counts.push(tf.memory().numTensors);
      if (i >= warmup && i % 10 === 0) {
        gc();
        rss.push(process.memoryUsage().rss);
      }
    }
    expect(new Set(counts).size, `numTensors varied: ${[...new Set(counts)]}`).toBe(1);
    const mean = rss.reduce((a, b) => a + b, 0) / rss.length;
    const growth = slope(rss) * rss.length; // trend over the measured steps (one sample per 10), in bytes
    expect(growth / mean, `RSS trend ${(growth / 2 ** 20).toFixed(1)} MiB over 200 steps (mean ${(mean / 2 ** 20).toFixed(0)} MiB)`).toBeLessThan(0.1);
    tf.dispose([x, y]);
    opt.dispose();
    model.dispose();
  });
});
