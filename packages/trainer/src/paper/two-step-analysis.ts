/**
 * Numerical analysis of one step of an explicit two-step scheme
 *   u_{n+1} = a1 u_n + a0 u_{n−1} + Δt b f(u_n),
 * the LM step being a1 = 1 − k_n, a0 = k_n, b = 1 (forward Euler: a1 = 1, a0 = 0).
 * In the usual form Σ_j α_j u_{n−1+j} = Δt Σ_j β_j f_{n−1+j} (j = 0, 1, 2): α = (−a0, −a1, 1), β = (0, b, 0);
 * ρ(ζ) = ζ² − a1 ζ − a0 is the characteristic (first) polynomial, σ(ζ) = b ζ the second.
 */

export interface Root {
  re: number;
  im: number;
}

/** Tolerance of "on the unit circle", "a double root" and "a vanishing order constant". */
export const ANALYSIS_TOL = 1e-7;

/** Roots of ζ² − a1 ζ − a0 (real first, larger first; complex as a conjugate pair). */
export function characteristicRoots(a1: number, a0: number): Root[] {
  const disc = a1 * a1 + 4 * a0;
  if (disc >= 0) {
    const s = Math.sqrt(disc);
    return [{ re: (a1 + s) / 2, im: 0 }, { re: (a1 - s) / 2, im: 0 }];
  }
  const s = Math.sqrt(-disc);
  return [{ re: a1 / 2, im: s / 2 }, { re: a1 / 2, im: -s / 2 }];
}

const modulus = (r: Root) => Math.hypot(r.re, r.im);

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

/** C_q = Σ j^q α_j / q! − Σ j^{q−1} β_j / (q−1)!: the method has order p when C_0 = … = C_p = 0. */
export function orderConstants(alpha: number[], beta: number[], upTo = 4): number[] {
  const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
  const out: number[] = [];
  for (let q = 0; q <= upTo; q++) {
    let c = 0;
    alpha.forEach((a, j) => (c += (j ** q * a) / fact(q)));
    if (q > 0) beta.forEach((b, j) => (c -= (j ** (q - 1) * b) / fact(q - 1)));
    out.push(c);
  }
  return out;
}

/** The order of consistency from the constants (0: not consistent). */
export function consistencyOrder(constants: number[], tol = ANALYSIS_TOL): number {
  if (Math.abs(constants[0]!) > tol) return -1;
  let p = 0;
  while (p + 1 < constants.length && Math.abs(constants[p + 1]!) <= tol) p++;
  return p;
}

export interface TwoStepAnalysis {
  a1: number;
  a0: number;
  dt: number;
  roots: Root[];
  zeroStability: 'stable' | 'weak' | 'unstable';
  /** Order of consistency with u_t = f(u) itself (0: not consistent). */
  orderForF: number;
  /**
   * The modified equation, to first order in Δt: uPrime u' + uSecond u'' = f(u), from the Taylor expansion
   * about t_n; for the LM step the paper's eq. (3), (1 + k_n) u' + (1 − k_n) Δt/2 u'' = f(u).
   */
  modified: { uPrime: number; uSecond: number };
  /** The ODE the step is consistent with, u_t = f(u) / c1, and its order; null when c1 = 0 (k_n = −1). */
  effective: { scale: number; order: number } | null;
}

/** Everything of one two-step update u_{n+1} = a1 u_n + a0 u_{n−1} + Δt b f(u_n). */
export function analyseTwoStep(a1: number, a0: number, dt = 1, b = 1): TwoStepAnalysis {
  const alpha = [-a0, -a1, 1];
  const roots = characteristicRoots(a1, a0);
  const orderForF = Math.max(0, consistencyOrder(orderConstants(alpha, [0, b, 0])));
  // Taylor expansion about t_n: u_{n+1} − a1 u_n − a0 u_{n−1} = (1 − a1 − a0) u + Δt (1 + a0) u' + Δt²/2 (1 − a0) u'' + …
  const rhoPrime = 2 - a1; // ρ'(1) = 2 − a1 = 1 + a0 when ρ(1) = 0
  const uPrime = rhoPrime / b;
  const uSecond = ((1 - a0) * dt) / 2 / b;
  let effective: TwoStepAnalysis['effective'] = null;
  if (Math.abs(uPrime) > ANALYSIS_TOL && Math.abs(1 - a1 - a0) <= ANALYSIS_TOL) {
    // consistent with u_t = f / c1: the same α with β = (0, ρ'(1), 0)
    effective = { scale: 1 / uPrime, order: consistencyOrder(orderConstants(alpha, [0, rhoPrime, 0])) };
  }
  return { a1, a0, dt, roots, zeroStability: zeroStability(roots), orderForF, modified: { uPrime, uSecond }, effective };
}

/** The LM step with coefficient k: u_{n+1} = (1 − k) u_n + k u_{n−1} + Δt f(u_n). */
export function analyseLmStep(k: number, dt = 1): TwoStepAnalysis {
  return analyseTwoStep(1 - k, k, dt);
}
