import { applyLayer, WeightedSum, type SchemeDefinition, type SymbolicTensor } from '@lm/core-blocks';
import { shortcutEulerStep } from './euler-update';

export interface BackwardEulerOptions {
  /** Terms of the Neumann series after the identity: 2 gives PolyNet's u + F(u) + F(F(u)). */
  order?: number;
}

/**
 * PolyNet read as an approximation of backward Euler, u_{n+1} = (I − Δt F)^{−1} u_n
 * ≈ (I + Δt F + (Δt F)² + … ) u_n, truncated after `order` terms; one F with shared weights.
 */
export const approxBackwardEuler: SchemeDefinition<BackwardEulerOptions> = {
  description: 'approximate backward Euler: u + dt F(u) + dt F(dt F(u)) + ... (PolyNet)',
  defaults: { order: 2 },
  step: (state, ctx, options) => {
    if (ctx.changesShape) return { u: shortcutEulerStep(state, ctx).u };
    const order = options.order ?? 2;
    if (!Number.isInteger(order) || order < 1) {
      throw new Error(`approx-backward-euler: option 'order' must be an integer >= 1, got ${order}.`);
    }
    const F = ctx.residual();
    const terms: SymbolicTensor[] = [state.u];
    let t = state.u;
    for (let j = 1; j <= order; j++) {
      t = F(t);
      if (ctx.dt !== 1) t = applyLayer(new WeightedSum({ coefficients: [ctx.dt], name: `${ctx.name}_dt${j}` }), [t]);
      terms.push(t);
    }
    const u = applyLayer(new WeightedSum({ coefficients: terms.map(() => 1), name: `${ctx.name}_sum` }), terms);
    return { u: ctx.finishStep(u) };
  },
};
