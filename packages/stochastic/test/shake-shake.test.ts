import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { drawShakeCoefficients, SeededRandom, shakeCoefficient, ShakeShake, shakeShake } from '../src';
import { useCpu } from './helpers';

beforeAll(useCpu);

/** Forward value and gradients of sum(w ⊙ shakeShake(f1, f2)) for f1 = 1, f2 = 0: the value is c1 per image. */
function probe(n: number, rng: SeededRandom, options = {}) {
  const f1 = tf.ones([n, 2, 2, 3]);
  const f2 = tf.zeros([n, 2, 2, 3]);
  let value: tf.Tensor | undefined;
  const [g1, g2] = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
    const y = shakeShake(a, b, true, rng, options);
    value = tf.keep(tf.clone(y));
    return tf.sum(y);
  })([f1, f2]);
  const perImage = (t: tf.Tensor) => {
    const d = t.dataSync();
    const size = d.length / n;
    return Array.from({ length: n }, (_, i) => {
      for (let j = 1; j < size; j++) expect(d[i * size + j]).toBe(d[i * size]); // one coefficient per image
      return d[i * size]!;
    });
  };
  const out = { forward: perImage(value!), back1: perImage(g1!), back2: perImage(g2!) };
  tf.dispose([f1, f2, value!, g1!, g2!]);
  return out;
}

describe('shakeShake', () => {
  it('uses the coefficients of eq. (4) after the scheme multiplies by Δt', () => {
    for (const dt of [1, 0.25, 0.1]) {
      for (const eta of [0, 0.3, 0.5, 0.9]) {
        const c1 = shakeCoefficient(eta, dt);
        const c2 = 1 - c1;
        expect(dt * c1).toBeCloseTo(dt / 2 + Math.sqrt(dt) * (eta - 0.5), 12);
        expect(dt * c2).toBeCloseTo(dt / 2 + Math.sqrt(dt) * (0.5 - eta), 12);
      }
    }
    // Δt = 1 is Gastaldi's original: c1 = η, c2 = 1 − η.
    expect(shakeCoefficient(0.3, 1)).toBeCloseTo(0.3, 12);
  });

  it('draws an independent backward coefficient, one per image, from the seeded source', () => {
    const n = 16;
    const rng = new SeededRandom(31);
    const reference = SeededRandom.fromState(rng.getState());
    const { forward, back1, back2 } = probe(n, rng);
    // The forward η come first, then the backward η': U(0, 1) draws in that order.
    const eta = Array.from({ length: n }, () => reference.uniform());
    const etaBack = Array.from({ length: n }, () => reference.uniform());
    forward.forEach((c, i) => expect(c).toBeCloseTo(eta[i]!, 6));
    back1.forEach((g, i) => expect(g).toBeCloseTo(etaBack[i]!, 6));
    back2.forEach((g, i) => expect(g).toBeCloseTo(1 - etaBack[i]!, 6));
    forward.forEach((c, i) => expect(c).not.toBe(back1[i]));
    expect(new Set(forward).size).toBe(n); // per-image randomness
    expect(rng.getState()).toEqual(reference.getState());
  });

  it('scales the randomness by 1/√Δt, so Δt·f has the coefficients of eq. (4)', () => {
    const dt = 0.25;
    const n = 8;
    const rng = new SeededRandom(4);
    const reference = SeededRandom.fromState(rng.getState());
    const { forward, back1 } = probe(n, rng, { dt });
    const eta = Array.from({ length: n }, () => reference.uniform());
    const etaBack = Array.from({ length: n }, () => reference.uniform());
    forward.forEach((c, i) => expect(dt * c).toBeCloseTo(dt / 2 + Math.sqrt(dt) * (eta[i]! - 0.5), 6));
    back1.forEach((g, i) => expect(dt * g).toBeCloseTo(dt / 2 + Math.sqrt(dt) * (etaBack[i]! - 0.5), 6));
  });

  it('supports the keep, even and batch-level variants', () => {
    const keep = probe(6, new SeededRandom(1), { backward: 'keep' });
    expect(keep.back1).toEqual(keep.forward);
    const even = probe(6, new SeededRandom(1), { forward: 'even', backward: 'even' });
    expect(even.forward).toEqual(Array(6).fill(0.5));
    expect(even.back1).toEqual(Array(6).fill(0.5));
    const batch = probe(6, new SeededRandom(1), { level: 'batch' });
    expect(new Set(batch.forward).size).toBe(1);
    expect(new Set(batch.back1).size).toBe(1);
    expect(batch.back1[0]).not.toBe(batch.forward[0]);
  });

  it('evaluates with the expected coefficients (f1 + f2) / 2, whatever Δt, without drawing', () => {
    const rng = new SeededRandom(2);
    const state = rng.getState();
    const f1 = tf.tensor([[2, 4]]);
    const f2 = tf.tensor([[0, -2]]);
    expect(Array.from(shakeShake(f1, f2, false, rng, { dt: 0.1 }).dataSync())).toEqual([1, 1]);
    expect(rng.getState()).toEqual(state);
  });

  it('has a training-mode mean equal to the evaluation output within the standard error', () => {
    const rng = new SeededRandom(12);
    const f1 = tf.tensor([[1.5, -0.5], [0.2, 3]]);
    const f2 = tf.tensor([[-1, 0.5], [2, 1]]);
    const evalOut = shakeShake(f1, f2, false, rng, { dt: 0.5 }).dataSync();
    const n = 3000;
    const sum = new Float64Array(4);
    const sq = new Float64Array(4);
    for (let i = 0; i < n; i++) {
      const y = tf.tidy(() => shakeShake(f1, f2, true, rng, { dt: 0.5 }).dataSync());
      y.forEach((v, j) => {
        sum[j] += v;
        sq[j] += v * v;
      });
    }
    for (let j = 0; j < 4; j++) {
      const mean = sum[j]! / n;
      const se = Math.sqrt((sq[j]! / n - mean * mean) / (n - 1));
      expect(Math.abs(mean - evalOut[j]!)).toBeLessThan(4 * se);
    }
  });

  it('does not leak tensors in a training forward and backward pass', () => {
    const rng = new SeededRandom(3);
    const f1 = tf.ones([4, 3]);
    const f2 = tf.ones([4, 3]);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(shakeShake(a, b, true, rng)))([f1, f2]);
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('coefficients are reproducible from a seed', () => {
    expect(drawShakeCoefficients(5, new SeededRandom(8))).toEqual(drawShakeCoefficients(5, new SeededRandom(8)));
    expect(drawShakeCoefficients(5, new SeededRandom(8)).forward).not.toEqual(drawShakeCoefficients(5, new SeededRandom(9)).forward);
  });
});

describe('ShakeShake layer', () => {
  it('combines two inputs, serialises its options and seed, and rejects a wrong input count', () => {
    const layer = new ShakeShake({ dt: 0.5, backward: 'keep', seed: 5, name: 'ss' });
    const y = layer.apply([tf.ones([2, 3]), tf.zeros([2, 3])]) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual(Array(6).fill(0.5));
    expect(layer.getConfig()).toMatchObject({ dt: 0.5, forward: 'shake', backward: 'keep', level: 'image', seed: 5, name: 'ss' });
    expect(() => layer.apply(tf.ones([2, 3]))).toThrow(/two inputs/);
    expect(() => new ShakeShake({ dt: 0 })).toThrow(/dt/);
  });
});
