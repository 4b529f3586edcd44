import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildNetwork, type NetworkConfig } from '@lm/schemes';
import { ZeroPadShortcut } from '@lm/core-blocks';
import { DropPath, survivalProbabilities } from '../src';
import { linearConfig, maxZ, RunningStats, sampleInput, SCHEMES, stateModel, useCpu } from './helpers';

beforeAll(useCpu);

/**
 * Up to the final BN the test network is linear (convolutions without BN or activation, zero-padding shortcuts),
 * and its random coefficients are independent with expectations 1 (stochastic depth, scaled in training),
 * p (unscaled), 1/2 (shake-shake) or 0 (noise), so E[training output] = evaluation output exactly.
 */
function trainingMeanZ(config: NetworkConfig, draws: number): number {
  const model = stateModel(buildNetwork(config));
  const x = sampleInput(2, 5);
  const expected = (model.predict(x) as tf.Tensor).dataSync();
  const stats = new RunningStats(expected.length);
  for (let i = 0; i < draws; i++) {
    stats.add(tf.tidy(() => (model.apply(x, { training: true }) as tf.Tensor).dataSync()));
  }
  // not all outputs equal the evaluation output: the training pass is random
  expect(stats.m2.some((v) => v > 0)).toBe(true);
  return maxZ(stats, expected);
}

// 5 standard errors over a few hundred outputs of a seeded run: a real bias of the mean shows up as |z| ≫ 5.
const Z_MAX = 5;

describe('mean of training-mode outputs = evaluation output, through a model', () => {
  it.each(SCHEMES)('stochastic depth (both scalings) in %s', (scheme) => {
    expect(trainingMeanZ(linearConfig(scheme, { name: 'stochastic-depth', options: { pL: 0.5 } }), 150)).toBeLessThan(Z_MAX);
    expect(trainingMeanZ(linearConfig(scheme, { name: 'stochastic-depth', options: { pL: 0.5, scaleAt: 'eval', mode: 'sample' } }), 150)).toBeLessThan(Z_MAX);
  });

  it.each(SCHEMES)('shake-shake (Δt = 0.5) and additive noise in %s', (scheme) => {
    expect(trainingMeanZ(linearConfig(scheme, { name: 'shake-shake' }, { dt: 0.5 }), 150)).toBeLessThan(Z_MAX);
    expect(trainingMeanZ(linearConfig(scheme, { name: 'additive-noise', options: { level: 0.5 } }), 150)).toBeLessThan(Z_MAX);
  });

  it('detects a biased strategy (the check has power)', () => {
    // Survivors left unscaled while evaluation is unscaled too: E[train] = p·f ≠ f.
    const config = linearConfig('forward-euler', { name: 'stochastic-depth', options: { pL: 0.5 } });
    const model = stateModel(buildNetwork(config));
    const x = sampleInput(2, 5);
    const expected = (model.predict(x) as tf.Tensor).dataSync();
    for (const layer of model.layers) if (layer instanceof DropPath) (layer as { scaleAt: string }).scaleAt = 'eval';
    const stats = new RunningStats(expected.length);
    for (let i = 0; i < 300; i++) stats.add(tf.tidy(() => (model.apply(x, { training: true }) as tf.Tensor).dataSync()));
    expect(maxZ(stats, expected)).toBeGreaterThan(10);
  });
});

describe('empirical drop rate of each block through a model', () => {
  it('matches p_l = 1 − (l / L)(1 − p_L) within 4 binomial standard deviations', () => {
    const config = linearConfig('linear-multi-step', { name: 'stochastic-depth', options: { pL: 0.3 } }, { blocksPerStage: [3, 3] });
    const model = buildNetwork(config);
    const drops = model.layers.filter((l): l is DropPath => l instanceof DropPath);
    expect(drops.length).toBe(6);
    const expected = survivalProbabilities(6, 0.3);
    drops.forEach((l, i) => expect(l.survival).toBeCloseTo(expected[i]!, 12));
    const probe = tfl.model({ inputs: model.inputs, outputs: drops.map((l) => l.output as tfl.SymbolicTensor) });
    const x = sampleInput(1, 9);
    const n = 600;
    const dropped = new Array(drops.length).fill(0);
    for (let i = 0; i < n; i++) {
      const outs = tf.tidy(() => (probe.apply(x, { training: true }) as tf.Tensor[]).map((t) => tf.any(tf.notEqual(t, 0)).dataSync()[0]));
      outs.forEach((nonzero, j) => {
        if (!nonzero) dropped[j]++;
      });
    }
    drops.forEach((_, j) => {
      const p = expected[j]!;
      expect(Math.abs(dropped[j] / n - (1 - p))).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n));
    });
  });
});

describe('dropping a block', () => {
  it.each(SCHEMES)('keeps the shortcut path at a step that changes shape (%s)', (scheme) => {
    // p_l = 1e-6 for every block: every f is dropped, so what is left is the stem and the shortcuts S(u).
    const config = linearConfig(scheme, { name: 'stochastic-depth', options: { pL: 1e-6, rule: 'uniform' } });
    const model = buildNetwork(config);
    const state = stateModel(model);
    const stem = tfl.model({ inputs: model.inputs, outputs: model.getLayer('stem_conv').output as tfl.SymbolicTensor });
    const x = sampleInput(2, 4);
    const expected = tf.tidy(() => new ZeroPadShortcut({ outChannels: 8, stride: 2 }).apply(stem.predict(x) as tf.Tensor) as tf.Tensor);
    const got = tf.tidy(() => state.apply(x, { training: true }) as tf.Tensor);
    expect(got.shape).toEqual(expected.shape);
    const g = got.dataSync();
    const e = expected.dataSync();
    let worst = 0;
    for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(g[i]! - e[i]!));
    expect(worst).toBeLessThan(1e-5);
    // and the evaluation output is not just the shortcut: the branches are there
    const evalOut = (state.predict(x) as tf.Tensor).dataSync();
    expect(evalOut.some((v, i) => Math.abs(v - e[i]!) > 1e-3)).toBe(true);
  });
});
