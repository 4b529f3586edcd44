import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildNetwork } from '@lm/schemes';
import { ShakeShake } from '../src';
import { testSeed } from '../../../tools/test-seed';
import { linearConfig, sampleInput, useCpu } from './helpers';

beforeAll(useCpu);
const seed = testSeed(import.meta.url);

/**
 * Eq. (4) of the paper: u_1 = u_0 + (Δt/2 + √Δt (η − 1/2)) f1(u_0) + (Δt/2 + √Δt (1/2 − η)) f2(u_0), η ~ U(0, 1),
 * so over η, E[u_1] = u_0 + Δt (f1 + f2) / 2 and Var[u_1] = Δt (f1 − f2)² / 12 (Var η = 1/12).
 * Checked on a one-step network (stem, one forward Euler step with a shake-shake pair, head); one η per image,
 * so a batch of n copies of one image gives n independent draws.
 */
function stepMoments(dt: number, n: number) {
  const config = linearConfig('forward-euler', { name: 'shake-shake' }, { dt, stageWidths: [4], blocksPerStage: [1], seed: seed % 1_000_000 });
  const model = buildNetwork(config);
  const shake = model.layers.find((l): l is ShakeShake => l instanceof ShakeShake);
  expect(shake, 'the network holds a shake-shake layer').toBeDefined();
  const [f1, f2] = shake!.input as tfl.SymbolicTensor[];
  const u0 = model.getLayer('stem_conv').output as tfl.SymbolicTensor;
  const u1 = model.getLayer('final_bn').input as tfl.SymbolicTensor;
  const probe = tfl.model({ inputs: model.inputs, outputs: [u0, f1!, f2!, u1] });
  const x = tf.tile(sampleInput(1, seed), [n, 1, 1, 1]);
  const [a, b, c, d] = tf.tidy(() => (probe.apply(x, { training: true }) as tf.Tensor[]).map((t) => t.dataSync()));
  const size = a!.length / n;
  const rows: { mean: number; variance: number; wantMean: number; wantVariance: number }[] = [];
  for (let j = 0; j < size; j++) {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = d![i * size + j]!;
      s += v;
      s2 += v * v;
    }
    const mean = s / n;
    const [u, g1, g2] = [a![j]!, b![j]!, c![j]!];
    rows.push({ mean, variance: (s2 - n * mean * mean) / (n - 1), wantMean: u + (dt * (g1 + g2)) / 2, wantVariance: (dt * (g1 - g2) ** 2) / 12 });
  }
  return rows;
}

describe('shake-shake Δt through a built network (eq. (4))', () => {
  for (const dt of [0.25, 1]) {
    it(`Δt = ${dt}: the step's mean is u + Δt (f1 + f2)/2 and its variance Δt (f1 − f2)²/12`, () => {
      const n = 1000;
      const rows = stepMoments(dt, n);
      let worstMean = 0;
      let worstVariance = 0;
      for (const r of rows) {
        if (r.wantVariance < 1e-8) continue;
        // Standard error of the mean; sd of a sample variance of a uniform: σ² √(4/5 / n) (kurtosis 9/5).
        worstMean = Math.max(worstMean, Math.abs(r.mean - r.wantMean) / Math.sqrt(r.wantVariance / n));
        worstVariance = Math.max(worstVariance, Math.abs(r.variance - r.wantVariance) / (r.wantVariance * Math.sqrt(0.8 / n)));
      }
      expect(rows.filter((r) => r.wantVariance >= 1e-8).length).toBeGreaterThan(rows.length / 2);
      // The elements of one image share η, so these are not independent tests: 5 standard errors for the worst.
      expect(worstMean, `seed ${seed}`).toBeLessThan(5);
      expect(worstVariance, `seed ${seed}`).toBeLessThan(5);
    });
  }
});
