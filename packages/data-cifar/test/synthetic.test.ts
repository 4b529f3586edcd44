import { describe, expect, it } from 'vitest';
import { channelStats, deriveSeed, permutation, Rng, syntheticCifar } from '../src/index.js';

describe('PRNG', () => {
  it('is deterministic and seed-sensitive; int(n) stays in range; permutations are permutations', () => {
    const a = new Rng(123);
    const b = new Rng(123);
    const c = new Rng(124);
    const xa = Array.from({ length: 5 }, () => a.u32());
    expect(Array.from({ length: 5 }, () => b.u32())).toEqual(xa);
    expect(Array.from({ length: 5 }, () => c.u32())).not.toEqual(xa);
    const r = new Rng(1);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 7000; i++) counts[r.int(7)]++;
    for (const k of counts) expect(k).toBeGreaterThan(850);
    const p = permutation(100, new Rng(5));
    expect(Array.from(p).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(deriveSeed(1, 2)).not.toBe(deriveSeed(2, 1));
    expect(deriveSeed(1, 2)).toBe(deriveSeed(1, 2));
  });
});

describe('syntheticCifar', () => {
  it('has the CIFAR shape, balanced classes, computed statistics and is deterministic', () => {
    const ds = syntheticCifar({ trainSize: 200, testSize: 50, seed: 3 });
    expect(ds.synthetic).toBe(true);
    expect(ds.numClasses).toBe(10);
    expect(ds.classNames).toHaveLength(10);
    expect(ds.train.size).toBe(200);
    expect(ds.test!.size).toBe(50);
    expect(ds.train.images.length).toBe(200 * 3072);
    const counts = new Array(10).fill(0);
    for (const l of ds.train.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(20));
    expect(ds.mean).toEqual(channelStats(ds.train.images).mean);
    const again = syntheticCifar({ trainSize: 200, testSize: 50, seed: 3 });
    expect(Buffer.compare(Buffer.from(again.train.images), Buffer.from(ds.train.images))).toBe(0);
    const other = syntheticCifar({ trainSize: 200, testSize: 50, seed: 4 });
    expect(Buffer.compare(Buffer.from(other.train.images), Buffer.from(ds.train.images))).not.toBe(0);
    const v = syntheticCifar({ trainSize: 100, testSize: 0, validationSize: 20, numClasses: 20 });
    expect(v.validation!.size).toBe(20);
    expect(v.test).toBeUndefined();
    expect(v.numClasses).toBe(20);
  });

  it('is learnable: a nearest-class-mean classifier beats chance by far on the test split', () => {
    const K = 10;
    const ds = syntheticCifar({ trainSize: 1000, testSize: 300, seed: 1 });
    const D = 3072;
    const means = Array.from({ length: K }, () => new Float64Array(D));
    const n = new Array(K).fill(0);
    for (let i = 0; i < ds.train.size; i++) {
      const l = ds.train.labels[i];
      n[l]++;
      for (let j = 0; j < D; j++) means[l][j] += ds.train.images[i * D + j];
    }
    means.forEach((m, k) => m.forEach((_, j) => (m[j] /= n[k])));
    let correct = 0;
    for (let i = 0; i < ds.test!.size; i++) {
      let best = -1;
      let bestD = Infinity;
      for (let k = 0; k < K; k++) {
        let d = 0;
        for (let j = 0; j < D; j++) d += (ds.test!.images[i * D + j] - means[k][j]) ** 2;
        if (d < bestD) {
          bestD = d;
          best = k;
        }
      }
      if (best === ds.test!.labels[i]) correct++;
    }
    expect(correct / ds.test!.size).toBeGreaterThan(0.5);
  });
});
