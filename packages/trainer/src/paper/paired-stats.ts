/** Summary statistics of a comparison of arms over paired seeds. */

/** t_{0.975, df} for df = 1..30 (two-sided 95%). */
const T975 = [12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157, 2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.13145, 2.119905, 2.109816, 2.100922, 2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831, 2.048407, 2.04523, 2.042272];

/** The 97.5% quantile of Student's t with df degrees of freedom (table to 30, Cornish-Fisher beyond). */
export function t975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`degrees of freedom must be a positive integer, got ${df}`);
  if (df <= 30) return T975[df - 1]!;
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n − 1); NaN for fewer than two values. */
export function sd(xs: number[]): number {
  if (xs.length < 2) return Number.NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

export interface PairedDifference {
  n: number;
  mean: number;
  sd: number;
  /** 95% t-interval of the mean difference (NaN bounds with one pair). */
  low: number;
  high: number;
  /** Pairs with a > b, a < b, a = b. */
  above: number;
  below: number;
  ties: number;
  /** Two-sided exact sign test (ties dropped). */
  signTestP: number;
}

function binomialTwoSided(k: number, n: number): number {
  if (n === 0) return 1;
  const choose = (m: number, r: number) => {
    let c = 1;
    for (let i = 1; i <= r; i++) c = (c * (m - r + i)) / i;
    return c;
  };
  const tail = Math.min(k, n - k);
  let p = 0;
  for (let i = 0; i <= tail; i++) p += choose(n, i) / 2 ** n;
  return Math.min(1, 2 * p);
}

/** Differences a_i − b_i of paired values: mean, sd, 95% t-interval and sign count. */
export function pairedDifference(a: number[], b: number[]): PairedDifference {
  if (a.length !== b.length || a.length === 0) throw new RangeError(`paired values need equal non-zero lengths, got ${a.length} and ${b.length}`);
  const d = a.map((x, i) => x - b[i]!);
  const n = d.length;
  const m = mean(d);
  const s = sd(d);
  const half = n > 1 ? (t975(n - 1) * s) / Math.sqrt(n) : Number.NaN;
  const above = d.filter((x) => x > 0).length;
  const below = d.filter((x) => x < 0).length;
  return { n, mean: m, sd: s, low: m - half, high: m + half, above, below, ties: n - above - below, signTestP: binomialTwoSided(above, above + below) };
}
