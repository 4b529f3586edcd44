/** Statistics of the benchmark targets: pure functions of their measurements. */

/** Median of a non-empty list (mean of the two middle values for an even count). */
export function median(xs: number[]): number {
  if (!xs.length) throw new Error('median of an empty list');
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/**
 * Which side runs first in pair `i` of a lockstep measurement: A B, B A, A B, ... (the sequence A B B A A B ...),
 * so that neither side always runs first (right after the other, or after the driver's idle time).
 */
export function firstOfPair<S>(i: number, a: S, b: S): [S, S] {
  return i % 2 === 0 ? [a, b] : [b, a];
}

/** How many pairs a lockstep measurement takes: at most `max`, at least `min`, and no new pair once `budgetS` is spent. */
export interface PairPlan { max: number; min: number; budgetS: number }

/** Whether a measurement that has `done` pairs after `elapsedS` seconds takes another one under `plan`. */
export function wantsAnotherPair(done: number, elapsedS: number, plan: PairPlan): boolean {
  if (done >= plan.max) return false;
  return done < plan.min || elapsedS < plan.budgetS;
}

/**
 * A distribution-free confidence interval for the median of a sample of n independent values: [x(k), x(n+1−k)]
 * of the sorted sample, with the largest k whose coverage 1 − 2·P(Binomial(n, ½) ≤ k−1) is at least `level`.
 * Null when n is too small for the level (n ≤ 5 at 95%: even the whole range covers less).
 */
export function medianInterval(xs: number[], level = 0.95): { lo: number; hi: number; coverage: number } | null {
  const n = xs.length;
  const s = [...xs].sort((a, b) => a - b);
  // P(B <= j) for B ~ Binomial(n, 1/2), accumulated term by term (C(n, j) / 2^n)
  let term = 2 ** -n, cdf = 0, best: { k: number; coverage: number } | null = null;
  for (let k = 1; 2 * k <= n; k++) {
    cdf += term; // now P(B <= k - 1)
    term *= (n - (k - 1)) / k;
    const coverage = 1 - 2 * cdf;
    if (coverage < level) break;
    best = { k, coverage };
  }
  return best ? { lo: s[best.k - 1]!, hi: s[n - best.k]!, coverage: best.coverage } : null;
}

/** Where a median's confidence interval lies against `bound`: wholly above, wholly below, or across it. */
export function sideOfBound(ci: { lo: number; hi: number }, bound: number): 'above' | 'below' | 'across' {
  return ci.lo > bound ? 'above' : ci.hi < bound ? 'below' : 'across';
}

/** The per-pair ratios numerator[i] / denominator[i] of two sides timed alternately, and their median and range. */
export interface PairedRatios {
  pairs: number;
  median: number;
  min: number;
  max: number;
  /** The 95% confidence interval of the median (medianInterval); null for fewer than 6 pairs. */
  ci95: { lo: number; hi: number; coverage: number } | null;
  /** In pair order. */
  ratios: number[];
}

export function pairedRatios(numerator: number[], denominator: number[]): PairedRatios {
  if (numerator.length !== denominator.length) throw new Error(`pairedRatios: ${numerator.length} numerator times but ${denominator.length} denominator times`);
  if (!numerator.length) throw new Error('pairedRatios: no pairs');
  const ratios = numerator.map((n, i) => {
    const d = denominator[i]!;
    if (!(n > 0 && d > 0)) throw new Error(`pairedRatios: pair ${i} has times ${n} and ${d} ms (both must be > 0)`);
    return n / d;
  });
  return { pairs: ratios.length, median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), ci95: medianInterval(ratios), ratios };
}
