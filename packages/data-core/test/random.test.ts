import { describe, expect, it } from 'vitest';
import { batchCount, deriveSeed, permutation, Rng } from '../src/index.js';
import { testSeed } from '../../../tools/test-seed.js';

const seed = testSeed(import.meta.url);

describe('seeded random streams', () => {
  it('repeat for a seed and differ between seeds', () => {
    const draw = (s: number) => Array.from({ length: 8 }, ((r) => () => r.u32())(new Rng(s)));
    expect(draw(seed)).toEqual(draw(seed));
    expect(draw(seed)).not.toEqual(draw(seed ^ 1));
    expect(deriveSeed(seed, 2)).not.toBe(deriveSeed(2, seed));
    expect(deriveSeed(1, 2 ** 32)).not.toBe(deriveSeed(1, 0));
    expect(deriveSeed(seed, 0, 1)).not.toBe(deriveSeed(seed, 0, 2));
  });

  it('int(n) is uniform on [0, n): counts within 5 standard deviations (chi-square style, n = 7, 70,000 draws)', () => {
    const r = new Rng(deriveSeed(seed, 1));
    const n = 7;
    const draws = 70_000;
    const counts = new Array(n).fill(0);
    let outside = 0;
    for (let i = 0; i < draws; i++) {
      const v = r.int(n);
      if (Number.isInteger(v) && v >= 0 && v < n) counts[v]++;
      else outside++;
    }
    expect(outside).toBe(0);
    const p = 1 / n;
    const sd = Math.sqrt(draws * p * (1 - p));
    for (const c of counts) expect(Math.abs(c - draws * p), `counts ${counts} (seed ${seed})`).toBeLessThan(5 * sd);
  });

  it('next() and uniform(lo, hi) stay in range; normal() has mean 0 and variance 1', () => {
    const r = new Rng(deriveSeed(seed, 2));
    const m = 20_000;
    let s = 0;
    let s2 = 0;
    let outside = 0;
    for (let i = 0; i < m; i++) {
      const u = r.next();
      const v = r.uniform(-3, 5);
      if (!(u >= 0 && u < 1 && v >= -3 && v < 5)) outside++;
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    expect(outside).toBe(0);
    expect(Math.abs(s / m), `seed ${seed}`).toBeLessThan(5 / Math.sqrt(m));
    expect(Math.abs(s2 / m - 1), `seed ${seed}`).toBeLessThan(5 * Math.sqrt(2 / m));
  });

  it('permutation(n, rng) is a permutation, and each position is uniform over the values', () => {
    const r = new Rng(deriveSeed(seed, 3));
    const n = 5;
    const trials = 20_000;
    const atZero = new Array(n).fill(0);
    let broken = 0;
    for (let t = 0; t < trials; t++) {
      const p = permutation(n, r);
      if ([...p].sort().join() !== '0,1,2,3,4') broken++;
      atZero[p[0]!]++;
    }
    expect(broken).toBe(0);
    const sd = Math.sqrt(trials * (1 / n) * (1 - 1 / n));
    for (const c of atZero) expect(Math.abs(c - trials / n), `first values ${atZero} (seed ${seed})`).toBeLessThan(5 * sd);
  });

  it('batchCount keeps or drops the last partial batch', () => {
    expect(batchCount(10, 4)).toBe(3);
    expect(batchCount(10, 4, true)).toBe(2);
    expect(batchCount(8, 4, true)).toBe(2);
  });
});
