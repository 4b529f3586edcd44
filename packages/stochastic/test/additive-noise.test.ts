import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdditiveNoise, additiveNoise, SeededRandom } from '../src';
import { useCpu } from './helpers';

beforeAll(useCpu);

function moments(d: ArrayLike<number>) {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < d.length; i++) {
    s += d[i]!;
    s2 += d[i]! * d[i]!;
  }
  const mean = s / d.length;
  return { mean, sd: Math.sqrt(s2 / d.length - mean * mean) };
}

describe('additiveNoise', () => {
  it.each(['gaussian', 'uniform'] as const)('adds %s noise with mean 0 and standard deviation level·√Δt', (distribution) => {
    const n = 100_000;
    const level = 0.3;
    const dt = 0.25;
    const rng = new SeededRandom(21);
    const noise = additiveNoise(tf.zeros([n]), level, true, rng, { dt, distribution }).dataSync();
    const { mean, sd } = moments(noise);
    const sigma = level * Math.sqrt(dt);
    expect(Math.abs(mean)).toBeLessThan((5 * sigma) / Math.sqrt(n));
    // the sample sd of n draws has a standard error of about σ·sqrt(κ/(4n)), κ ≤ 2 for these two laws
    expect(Math.abs(sd - sigma)).toBeLessThan(5 * sigma * Math.sqrt(2 / (4 * n)));
    if (distribution === 'uniform') {
      const bound = Math.sqrt(3) * sigma;
      expect(noise.every((v) => Math.abs(v) <= bound + 1e-6)).toBe(true);
      expect(noise.some((v) => Math.abs(v) > 0.95 * bound)).toBe(true);
    } else {
      expect(noise.some((v) => Math.abs(v) > 3 * sigma)).toBe(true); // Gaussian tails, not a bounded law
    }
  });

  it('is the identity in evaluation and at level 0, without drawing', () => {
    const rng = new SeededRandom(1);
    const state = rng.getState();
    const x = tf.tensor([1, 2, 3]);
    expect(Array.from(additiveNoise(x, 0.5, false, rng).dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(additiveNoise(x, 0, true, rng).dataSync())).toEqual([1, 2, 3]);
    expect(rng.getState()).toEqual(state);
  });

  it('repeats for a seed, differs across seeds, and adds to the input', () => {
    const x = tf.tensor([10, 20, 30, 40]);
    const a = additiveNoise(x, 1, true, new SeededRandom(4)).dataSync();
    const b = additiveNoise(x, 1, true, new SeededRandom(4)).dataSync();
    const c = additiveNoise(x, 1, true, new SeededRandom(5)).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    const eps = new SeededRandom(4).fillNormal(new Float32Array(4));
    a.forEach((v, i) => expect(v).toBeCloseTo([10, 20, 30, 40][i]! + eps[i]!, 5));
  });
});

describe('AdditiveNoise layer', () => {
  it('uses kwargs.training only and serialises its options and seed', () => {
    const layer = new AdditiveNoise({ level: 0.2, dt: 0.5, distribution: 'uniform', seed: 6, name: 'nz' });
    const x = tf.ones([2, 2]);
    expect(Array.from((layer.apply(x) as tf.Tensor).dataSync())).toEqual([1, 1, 1, 1]);
    expect(Array.from((layer.apply(x, { training: true }) as tf.Tensor).dataSync())).not.toEqual([1, 1, 1, 1]);
    expect(layer.getConfig()).toMatchObject({ level: 0.2, dt: 0.5, distribution: 'uniform', seed: 6, name: 'nz' });
    expect(() => new AdditiveNoise({ level: -1 })).toThrow(/level/);
    expect(() => new AdditiveNoise({ level: 1, distribution: 'cauchy' as never })).toThrow(/distribution/);
  });
});
