import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { DropPath, dropPath, SeededRandom, survivalProbabilities, survivalProbability } from '../src';
import { useCpu } from './helpers';

beforeAll(useCpu);

/** 4 binomial standard deviations of an empirical rate over n draws. */
const tolerance = (p: number, n: number) => 4 * Math.sqrt((p * (1 - p)) / n);

describe('survival probabilities', () => {
  it('decay linearly from 1 towards p_L: p_l = 1 − (l / L)(1 − p_L)', () => {
    expect(survivalProbabilities(4, 0.5)).toEqual([0.875, 0.75, 0.625, 0.5]);
    expect(survivalProbability({ index: 27, count: 27 }, 0.8)).toBeCloseTo(0.8, 12);
    expect(survivalProbability({ index: 9, count: 54 }, 0.5)).toBeCloseTo(1 - (9 / 54) * 0.5, 12);
    expect(survivalProbabilities(3, 0.7, 'uniform')).toEqual([0.7, 0.7, 0.7]);
    expect(() => survivalProbability({ index: 0, count: 3 }, 0.5)).toThrow(/1\.\.L/);
    expect(() => survivalProbability({ index: 1, count: 3 }, 0)).toThrow(/pL/);
  });
});

describe('dropPath', () => {
  it('is the identity in evaluation (default) and p·x with scaleAt "eval"; never draws', () => {
    const rng = new SeededRandom(1);
    const state = rng.getState();
    const x = tf.tensor([[1, -2], [3, 4]]);
    expect(Array.from(dropPath(x, 0.6, false, rng).dataSync())).toEqual([1, -2, 3, 4]);
    expect(dropPath(x, 0.5, false, rng, { scaleAt: 'eval' }).arraySync()).toEqual([[0.5, -1], [1.5, 2]]);
    expect(rng.getState()).toEqual(state);
  });

  it('drops a whole batch at the rate 1 − p and scales survivors by 1/p (batch mode)', () => {
    const rng = new SeededRandom(123);
    const x = tf.ones([3, 2]);
    for (const p of [0.9, 0.5, 0.2]) {
      const n = 4000;
      let dropped = 0;
      for (let i = 0; i < n; i++) {
        const y = tf.tidy(() => dropPath(x, p, true, rng).dataSync());
        const first = y[0]!;
        // one η for the whole mini-batch: all entries equal, 0 or 1/p
        expect(y.every((v) => v === first)).toBe(true);
        if (first === 0) dropped++;
        else expect(first).toBeCloseTo(1 / p, 6);
      }
      expect(Math.abs(dropped / n - (1 - p))).toBeLessThan(tolerance(p, n));
    }
  });

  it('draws one η per image in sample mode, at the right rate; unscaled with scaleAt "eval"', () => {
    const rng = new SeededRandom(77);
    const n = 50_000;
    const p = 0.65;
    const y = dropPath(tf.ones([n, 1, 1, 2]), p, true, rng, { mode: 'sample', scaleAt: 'eval' }).dataSync();
    let dropped = 0;
    let bad = 0;
    for (let i = 0; i < n; i++) {
      if (y[2 * i] !== y[2 * i + 1] || (y[2 * i] !== 0 && y[2 * i] !== 1)) bad++;
      if (y[2 * i] === 0) dropped++;
    }
    expect(bad).toBe(0);
    expect(Math.abs(dropped / n - (1 - p))).toBeLessThan(tolerance(p, n));
  });

  it('has a training-mode mean equal to the evaluation output within the standard error, for both scalings', () => {
    for (const scaleAt of ['train', 'eval'] as const) {
      const rng = new SeededRandom(5);
      const p = 0.7;
      const x = tf.tensor([[0.3, -1.2, 2.5]]);
      const evalOut = dropPath(x, p, false, rng, { scaleAt }).dataSync();
      const n = 3000;
      const sum = [0, 0, 0];
      const sq = [0, 0, 0];
      for (let i = 0; i < n; i++) {
        const y = tf.tidy(() => dropPath(x, p, true, rng, { scaleAt }).dataSync());
        y.forEach((v, j) => {
          sum[j] += v;
          sq[j] += v * v;
        });
      }
      for (let j = 0; j < 3; j++) {
        const mean = sum[j]! / n;
        const se = Math.sqrt((sq[j]! / n - mean * mean) / (n - 1));
        expect(Math.abs(mean - evalOut[j]!)).toBeLessThan(4 * se);
      }
    }
  });

  it('passes the gradient η/p to f and does not leak tensors', () => {
    const rng = new SeededRandom(8);
    const x = tf.ones([6, 2]);
    const before = tf.memory().numTensors;
    const g = tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(dropPath(v, 0.5, true, SeededRandom.fromState(rng.getState()), { mode: 'sample' })))(x));
    const y = tf.tidy(() => dropPath(x, 0.5, true, rng, { mode: 'sample' }));
    expect(Array.from(g.dataSync())).toEqual(Array.from(y.dataSync()));
    tf.dispose([g, y]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('DropPath layer', () => {
  it('uses kwargs.training only, and repeats its masks for a seed', () => {
    const x = tf.ones([1, 4]);
    const masks = (seed: number) => {
      const layer = new DropPath({ survival: 0.5, seed });
      return Array.from({ length: 64 }, () => (layer.apply(x, { training: true }) as tf.Tensor).dataSync()[0]);
    };
    expect(masks(3)).toEqual(masks(3));
    expect(masks(3)).not.toEqual(masks(4));
    const layer = new DropPath({ survival: 0.5, seed: 3 });
    expect(Array.from((layer.apply(x) as tf.Tensor).dataSync())).toEqual([1, 1, 1, 1]);
    expect(Array.from((layer.apply(x, { training: false }) as tf.Tensor).dataSync())).toEqual([1, 1, 1, 1]);
  });

  it('serialises its options and seed', () => {
    const layer = new DropPath({ survival: 0.75, scaleAt: 'eval', mode: 'sample', seed: 99, name: 'dp' });
    const config = layer.getConfig();
    expect(config).toMatchObject({ survival: 0.75, scaleAt: 'eval', mode: 'sample', seed: 99, name: 'dp' });
    const [cls] = tf.serialization.SerializationMap.getMap().classNameMap['LmDropPath']!;
    const copy = tf.serialization.Serializable.fromConfig(cls as never, config) as unknown as DropPath;
    expect(copy).toBeInstanceOf(DropPath);
    expect(copy.getConfig()).toEqual(config);
    expect(copy.getRandomState()).toEqual(layer.getRandomState());
  });

  it('rejects invalid options', () => {
    expect(() => new DropPath({ survival: 0 })).toThrow(/survival/);
    expect(() => new DropPath({ survival: 1.5 })).toThrow(/survival/);
    expect(() => new DropPath({ survival: 0.5, mode: 'pixel' as never })).toThrow(/mode/);
    expect(() => new DropPath({ survival: 0.5, scaleAt: 'never' as never })).toThrow(/scaleAt/);
  });
});
