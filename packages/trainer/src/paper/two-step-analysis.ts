import { analyseMultistep, type MultistepAnalysis } from './multistep-analysis';

/**
 * One step of an explicit two-step scheme u_{n+1} = a1 u_n + a0 u_{n−1} + Δt b f(u_n), the LM step being
 * a1 = 1 − k_n, a0 = k_n, b = 1 (forward Euler: a1 = 1, a0 = 0): ρ(ζ) = ζ² − a1 ζ − a0, σ(ζ) = b ζ.
 */
export interface TwoStepAnalysis extends MultistepAnalysis {
  a1: number;
  a0: number;
}

export function analyseTwoStep(a1: number, a0: number, dt = 1, b = 1): TwoStepAnalysis {
  return { ...analyseMultistep([a1, a0], [b], dt), a1, a0 };
}

/** The LM step with coefficient k: u_{n+1} = (1 − k) u_n + k u_{n−1} + Δt f(u_n). */
export function analyseLmStep(k: number, dt = 1): TwoStepAnalysis {
  return analyseTwoStep(1 - k, k, dt);
}
