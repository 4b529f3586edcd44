/**
 * Numerical analysis of one explicit linear multi-step update
 *   u_{n+1} = Σ_{j<k} a_j u_{n−j} + Δt Σ_{j<k} b_j f(u_{n−j}).
 * In the usual form Σ_i α_i u_{n+1−k+i} = Δt Σ_i β_i f_{n+1−k+i} (i = 0 … k): α_k = 1, α_{k−1−j} = −a_j,
 * β_k = 0, β_{k−1−j} = b_j; ρ(ζ) = Σ α_i ζ^i is the characteristic (first) polynomial, σ(ζ) = Σ β_i ζ^i the second.
 */

export interface Root {
  re: number;
  im: number;
}

/** Tolerance of "on the unit circle", "a double root" and "a vanishing order constant". */
export const ANALYSIS_TOL = 1e-7;

const modulus = (r: Root) => Math.hypot(r.re, r.im);

/** Roots of ζ² − a1 ζ − a0 in closed form (real first, larger first; complex as a conjugate pair). */
export function characteristicRoots(a1: number, a0: number): Root[] {
  const disc = a1 * a1 + 4 * a0;
  if (disc >= 0) {
    const s = Math.sqrt(disc);
    return [{ re: (a1 + s) / 2, im: 0 }, { re: (a1 - s) / 2, im: 0 }];
  }
  const s = Math.sqrt(-disc);
  return [{ re: a1 / 2, im: s / 2 }, { re: a1 / 2, im: -s / 2 }];
}

/**
 * Roots of the monic ζ^k − a_0 ζ^{k−1} − … − a_{k−1}: closed forms up to degree 2, else Weierstrass (Durand–Kerner)
 * iteration, sorted by modulus, larger first.
 */
export function polynomialRoots(a: number[]): Root[] {
  const k = a.length;
  if (k === 0) return [];
  if (k === 1) return [{ re: a[0]!, im: 0 }];
  if (k === 2) return characteristicRoots(a[0]!, a[1]!);
  // p(z) = z^k + c_1 z^{k−1} + … + c_k with c_{j+1} = −a_j
  const c = a.map((v) => -v);
  const evaluate = (re: number, im: number): [number, number] => {
    let pr = 1;
    let pi = 0;
    for (const cj of c) [pr, pi] = [pr * re - pi * im + cj, pr * im + pi * re];
    return [pr, pi];
  };
  const bound = 1 + Math.max(...c.map(Math.abs));
  let z: [number, number][] = Array.from({ length: k }, (_, i) => {
    const angle = (2 * Math.PI * i) / k + 0.4;
    return [bound * 0.9 * Math.cos(angle), bound * 0.9 * Math.sin(angle)];
  });
  for (let iter = 0; iter < 2000; iter++) {
    let change = 0;
    z = z.map(([re, im], i) => {
      const [pr, pi] = evaluate(re, im);
      let dr = 1;
      let di = 0;
      z.forEach(([qr, qi], j) => {
        if (j !== i) [dr, di] = [dr * (re - qr) - di * (im - qi), dr * (im - qi) + di * (re - qr)];
      });
      const den = dr * dr + di * di || Number.MIN_VALUE;
      const sr = (pr * dr + pi * di) / den;
      const si = (pi * dr - pr * di) / den;
      change = Math.max(change, Math.hypot(sr, si));
      return [re - sr, im - si];
    });
    if (change < 1e-15) break;
  }
  return z
    .map(([re, im]) => ({ re: Math.abs(re) < 1e-14 ? 0 : re, im: Math.abs(im) < 1e-12 ? 0 : im }))
    .sort((x, y) => modulus(y) - modulus(x) || y.re - x.re || y.im - x.im);
}

/**
 * Dahlquist's root condition: every root in the closed unit disc, those on the circle simple. `'weak'`: stable
 * with a second root on the unit circle (e.g. k = 1, roots 1 and −1: the leapfrog scheme).
 */
export function zeroStability(roots: Root[], tol = ANALYSIS_TOL): 'stable' | 'weak' | 'unstable' {
  if (roots.some((r) => modulus(r) > 1 + tol)) return 'unstable';
  const onCircle = roots.filter((r) => Math.abs(modulus(r) - 1) <= tol);
  for (let i = 0; i < onCircle.length; i++) {
    for (let j = i + 1; j < onCircle.length; j++) {
      if (Math.hypot(onCircle[i]!.re - onCircle[j]!.re, onCircle[i]!.im - onCircle[j]!.im) <= Math.sqrt(tol)) return 'unstable';
    }
  }
  return onCircle.length > 1 ? 'weak' : 'stable';
}

/** C_q = Σ i^q α_i / q! − Σ i^{q−1} β_i / (q−1)!: the method has order p when C_0 = … = C_p = 0. */
export function orderConstants(alpha: number[], beta: number[], upTo = 4): number[] {
  const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
  const out: number[] = [];
  for (let q = 0; q <= upTo; q++) {
    let c = 0;
    alpha.forEach((a, i) => (c += (i ** q * a) / fact(q)));
    if (q > 0) beta.forEach((b, i) => (c -= (i ** (q - 1) * b) / fact(q - 1)));
    out.push(c);
  }
  return out;
}

/** The order of consistency from the constants (−1: C_0 ≠ 0; 0: not consistent). */
export function consistencyOrder(constants: number[], tol = ANALYSIS_TOL): number {
  if (Math.abs(constants[0]!) > tol) return -1;
  let p = 0;
  while (p + 1 < constants.length && Math.abs(constants[p + 1]!) <= tol) p++;
  return p;
}

export interface MultistepAnalysis {
  a: number[];
  b: number[];
  dt: number;
  roots: Root[];
  zeroStability: 'stable' | 'weak' | 'unstable';
  /** Order of consistency with u_t = f(u) itself (0: not consistent). */
  orderForF: number;
  /**
   * The modified equation, to first order in Δt: uPrime u' + uSecond u'' = f(u), from the Taylor expansion
   * about t_n; for the LM step the paper's eq. (3), (1 + k_n) u' + (1 − k_n) Δt/2 u'' = f(u). Null when σ(1) = 0.
   */
  modified: { uPrime: number; uSecond: number } | null;
  /** The ODE the step is consistent with, u_t = scale f(u) (scale = σ(1)/ρ'(1)), and its order; null when ρ(1) ≠ 0 or ρ'(1) = 0. */
  effective: { scale: number; order: number } | null;
}

/** Everything of one linear multi-step update (a, b padded with zeros to the same length k). */
export function analyseMultistep(aIn: number[], bIn: number[], dt = 1): MultistepAnalysis {
  const k = Math.max(aIn.length, bIn.length, 1);
  const a = Array.from({ length: k }, (_, j) => aIn[j] ?? 0);
  const b = Array.from({ length: k }, (_, j) => bIn[j] ?? 0);
  const alpha = [...a.map((v) => -v).reverse(), 1];
  const beta = [...[...b].reverse(), 0];
  const roots = polynomialRoots(a);
  const orderForF = Math.max(0, consistencyOrder(orderConstants(alpha, beta)));
  // Taylor about t_n, with m_i = i − k + 1 the offset of u_{n+1−k+i} in steps:
  // Σ α_i u(t_n + m_i Δt) / Δt = ρ(1) u / Δt + A1 u' + Δt A2 u'' + …, Δt Σ β_i f(t_n + m_i Δt) / Δt = σ(1) f + Δt B1 (d/dt f) + …,
  // and d/dt f = (A1 / σ(1)) u'' to leading order.
  const m = alpha.map((_, i) => i - k + 1);
  const A1 = alpha.reduce((s, x, i) => s + x * m[i]!, 0);
  const A2 = alpha.reduce((s, x, i) => s + (x * m[i]! ** 2) / 2, 0);
  const B1 = beta.reduce((s, x, i) => s + x * m[i]!, 0);
  const sigma1 = beta.reduce((s, x) => s + x, 0);
  const rho1 = alpha.reduce((s, x) => s + x, 0);
  const modified = Math.abs(sigma1) > ANALYSIS_TOL ? { uPrime: A1 / sigma1, uSecond: (dt * (A2 - (B1 * A1) / sigma1)) / sigma1 } : null;
  let effective: MultistepAnalysis['effective'] = null;
  if (Math.abs(A1) > ANALYSIS_TOL && Math.abs(rho1) <= ANALYSIS_TOL && Math.abs(sigma1) > ANALYSIS_TOL) {
    const scale = sigma1 / A1;
    effective = { scale, order: consistencyOrder(orderConstants(alpha, beta.map((x) => x / scale))) };
  }
  return { a: aIn, b: bIn, dt, roots, zeroStability: zeroStability(roots), orderForF, modified, effective };
}
