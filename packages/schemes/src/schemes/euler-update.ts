import { applyLayer, WeightedSum, type SchemeState, type StepContext, type SymbolicTensor } from '@lm/core-blocks';

/** u + Δt·f: one explicit update (Δt = 1 needs no scaling). */
export function eulerUpdate(u: SymbolicTensor, f: SymbolicTensor, dt: number, name: string): SymbolicTensor {
  return applyLayer(new WeightedSum({ coefficients: [1, dt], name }), [u, f]);
}

/**
 * The state after a step u_n → u_{n+1} that evaluated f(u_n) as `f`: u_n joins the history and f(u_n) the past
 * evaluations, each kept as long as the scheme's `ctx.memory` says.
 */
export function advanceState(state: SchemeState, ctx: StepContext, u: SymbolicTensor, f?: SymbolicTensor): SchemeState {
  const evaluations = ctx.memory.evaluations ?? 0;
  return {
    u,
    history: [state.u, ...(state.history ?? [])].slice(0, ctx.memory.states),
    pastF: f && evaluations ? [f, ...(state.pastF ?? [])].slice(0, evaluations) : [],
  };
}

/**
 * A forward Euler step through the shortcut, u_{n+1} = S(u_n) + Δt f(u_n): how every scheme crosses a step
 * that changes shape, and how a multi-step method starts. The history it leaves is the shortcut's image of the
 * history the scheme keeps: S(u_n), S(u_{n−1}), ... (S(u_n) is the u_{n−1} of a following multi-step update) and
 * f(u_n), S(f(u_{n−1})), ... (f(u_n) already has the new shape).
 */
export function shortcutEulerStep(state: SchemeState, ctx: StepContext): SchemeState {
  const f = ctx.residual();
  const fu = f(state.u);
  const s = ctx.shortcut(state.u);
  const u = eulerUpdate(s, fu, ctx.dt, `${ctx.name}_sum`);
  const keepStates = ctx.memory.states;
  const keepF = ctx.memory.evaluations ?? 0;
  const carry = (x: SymbolicTensor) => (ctx.changesShape ? ctx.shortcut(x) : x);
  return {
    u: ctx.finishStep(u),
    history: keepStates ? [s, ...(state.history ?? []).slice(0, keepStates - 1).map(carry)] : [],
    pastF: keepF ? [fu, ...(state.pastF ?? []).slice(0, keepF - 1).map(carry)] : [],
  };
}
