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

/** The per-pair ratios numerator[i] / denominator[i] of two sides timed alternately, and their median and range. */
export interface PairedRatios {
  pairs: number;
  median: number;
  min: number;
  max: number;
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
  return { pairs: ratios.length, median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), ratios };
}
