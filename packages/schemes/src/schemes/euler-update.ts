import { applyLayer, WeightedSum, type SchemeState, type StepContext, type SymbolicTensor } from '@lm/core-blocks';

/** u + Δt·f: one explicit update (Δt = 1 needs no scaling). */
export function eulerUpdate(u: SymbolicTensor, f: SymbolicTensor, dt: number, name: string): SymbolicTensor {
  return applyLayer(new WeightedSum({ coefficients: [1, dt], name }), [u, f]);
}

/**
 * A forward Euler step through the shortcut, u_{n+1} = S(u_n) + Δt f(u_n): how every scheme crosses a step
 * that changes shape. S(u_n) is returned as `previous`, the u_{n−1} of a following multi-step update.
 */
export function shortcutEulerStep(state: SchemeState, ctx: StepContext): SchemeState {
  const f = ctx.residual();
  const s = ctx.shortcut(state.u);
  const u = eulerUpdate(s, f(state.u), ctx.dt, `${ctx.name}_sum`);
  return { u: ctx.finishStep(u), previous: s };
}
