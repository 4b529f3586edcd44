import { describe, expect, it } from 'vitest';

import { firstOfPair, median, medianInterval, pairedRatios, sideOfBound, wantsAnotherPair } from '../src/stats';

describe('benchmark statistics', () => {
  it('median of odd and even counts, unsorted input left as it was', () => {
    const xs = [3, 1, 2];
    expect(median(xs)).toBe(2);
    expect(xs).toEqual([3, 1, 2]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(/empty/);
  });

  it('pairs alternate A B, B A', () => {
    expect([0, 1, 2, 3].map((i) => firstOfPair(i, 'a', 'b')[0])).toEqual(['a', 'b', 'a', 'b']);
  });

  it("the median's interval: order statistics with binomial coverage", () => {
    const xs = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5];
    // n = 10: [x(2), x(9)] covers 1 - 2·11/1024 = 97.85%; [x(3), x(8)] only 89.06%
    const ci = medianInterval(xs)!;
    expect(ci.lo).toBe(2);
    expect(ci.hi).toBe(9);
    expect(ci.coverage).toBeCloseTo(1 - 22 / 1024, 12);
    const at89 = medianInterval(xs, 0.89)!;
    expect([at89.lo, at89.hi]).toEqual([3, 8]);
    expect(at89.coverage).toBeCloseTo(1 - 2 * 56 / 1024, 12);
    // n = 20 at 95%: k = 6 (coverage 1 - 2·P(B <= 5) = 0.9586), k = 7 gives 0.8847
    const twenty = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(medianInterval(twenty)).toMatchObject({ lo: 6, hi: 15 });
    // too few values for 95%: the full range of 5 covers 1 - 2/32 = 93.75%
    expect(medianInterval([1, 2, 3, 4, 5])).toBeNull();
    expect(medianInterval([1, 2, 3, 4, 5, 6])).toMatchObject({ lo: 1, hi: 6 });
  });

  it('paired ratios: median, range, interval, and a clear error for bad times', () => {
    const r = pairedRatios([2, 4, 6, 8, 10, 12], [1, 2, 3, 4, 5, 6]);
    expect(r).toMatchObject({ pairs: 6, median: 2, min: 2, max: 2, ci95: { lo: 2, hi: 2 } });
    expect(() => pairedRatios([1], [1, 2])).toThrow(/1 numerator times but 2 denominator times/);
    expect(() => pairedRatios([1, 0], [1, 1])).toThrow(/pair 1 has times 0 and 1 ms/);
  });

  it('pair plan: at least min pairs whatever the time, then pairs until the budget is spent, never more than max', () => {
    const plan = { max: 30, min: 10, budgetS: 90 };
    // a large model: each pair takes 30 s, so the budget alone would stop after 3; the least number still holds
    const slow = (n: number) => n * 30;
    let n = 0;
    while (wantsAnotherPair(n, slow(n), plan)) n++;
    expect(n).toBe(10);
    // a small model: 1 s a pair reaches the most before the budget
    n = 0;
    while (wantsAnotherPair(n, n * 1, plan)) n++;
    expect(n).toBe(30);
    // in between: 5 s a pair stops at the first pair begun after 90 s
    n = 0;
    while (wantsAnotherPair(n, n * 5, plan)) n++;
    expect(n).toBe(18);
    expect(wantsAnotherPair(0, 1e9, { max: 1, min: 1, budgetS: 0 })).toBe(true);
    expect(wantsAnotherPair(1, 0, { max: 1, min: 1, budgetS: 0 })).toBe(false);
  });

  it('an interval against a bound: above only when its low end is, below only when its high end is', () => {
    expect(sideOfBound({ lo: 1.01, hi: 1.2 }, 1)).toBe('above');
    expect(sideOfBound({ lo: 0.8, hi: 0.99 }, 1)).toBe('below');
    expect(sideOfBound({ lo: 1, hi: 1.2 }, 1)).toBe('across');
    expect(sideOfBound({ lo: 1.008, hi: 1.102 }, 1.05)).toBe('across');
  });
});
