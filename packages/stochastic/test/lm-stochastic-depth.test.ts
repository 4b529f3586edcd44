import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildNetwork, lmCoefficients } from '@lm/schemes';
import { DropPath } from '../src';
import { sampleInput, smallConfig, useCpu } from './helpers';

beforeAll(useCpu);

describe('stochastic depth in the LM scheme (section 3.2)', () => {
  it('steps X_{n+1} = (1 − k_n) X_n + k_n X_{n−1} + Δt η_n f(X_n) / p_n, η_n ~ Bernoulli(p_n)', () => {
    const dt = 0.5;
    const model = buildNetwork(smallConfig('linear-multi-step', { name: 'stochastic-depth', options: { pL: 0.5 } }, { dt }));
    const lm = model.getLayer('s1_b2_lm');
    const drop = model.getLayer('s1_b2_f_drop') as DropPath;
    expect(drop).toBeInstanceOf(DropPath);
    const p = drop.survival;
    expect(p).toBeCloseTo(1 - (2 / 4) * 0.5, 12);
    const [fDropped, un, prev] = lm.input as tfl.SymbolicTensor[];
    const probe = tfl.model({
      inputs: model.inputs,
      outputs: [drop.input as tfl.SymbolicTensor, fDropped!, un!, prev!, lm.output as tfl.SymbolicTensor],
    });
    const k = lmCoefficients(model).find((c) => c.layer === 's1_b2_lm')!.k[0]!;
    const x = sampleInput(2, 6);
    let drops = 0;
    const passes = 40;
    for (let i = 0; i < passes; i++) {
      const [f, eta, u, v, next] = tf.tidy(() => (probe.apply(x, { training: true }) as tf.Tensor[]).map((t) => t.dataSync()));
      const dropped = eta!.every((e) => e === 0);
      if (dropped) drops++;
      let worst = 0;
      for (let j = 0; j < f!.length; j++) {
        const etaF = dropped ? 0 : f![j]! / p;
        worst = Math.max(worst, Math.abs(eta![j]! - etaF));
        const expected = (1 - k) * u![j]! + k * v![j]! + dt * etaF;
        worst = Math.max(worst, Math.abs(next![j]! - expected));
      }
      expect(worst).toBeLessThan(1e-4);
    }
    expect(drops).toBeGreaterThan(0);
    expect(drops).toBeLessThan(passes);
  });
});
