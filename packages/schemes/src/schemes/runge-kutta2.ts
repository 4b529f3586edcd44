import { applyLayer, WeightedSum, type SchemeDefinition } from '@lm/core-blocks';
import { eulerUpdate, shortcutEulerStep } from './euler-update';

export interface RungeKutta2Options {
  /** α of the explicit RK2 family: 1 is Heun's method, 1/2 the midpoint method. */
  alpha?: number;
}

/**
 * FractalNet read as a two-stage Runge-Kutta scheme with two branches f1, f2:
 * k1 = f1(u_n), k2 = f2(u_n + α Δt k1), u_{n+1} = u_n + Δt [(1 − 1/(2α)) k1 + 1/(2α) k2].
 */
export const rungeKutta2: SchemeDefinition<RungeKutta2Options> = {
  description: 'Runge-Kutta 2 with two branches (FractalNet reading); alpha = 1 is Heun, 1/2 midpoint',
  defaults: { alpha: 1 },
  step: (state, ctx, options) => {
    if (ctx.changesShape) return { u: shortcutEulerStep(state, ctx).u };
    const alpha = options.alpha ?? 1;
    if (!(alpha > 0)) throw new Error(`runge-kutta2: option 'alpha' must be > 0, got ${alpha}.`);
    const f1 = ctx.residual({ suffix: 'f1' });
    const f2 = ctx.residual({ suffix: 'f2' });
    const k1 = f1(state.u);
    const k2 = f2(eulerUpdate(state.u, k1, alpha * ctx.dt, `${ctx.name}_mid`));
    const b2 = 1 / (2 * alpha);
    const u = applyLayer(new WeightedSum({ coefficients: [1, ctx.dt * (1 - b2), ctx.dt * b2], name: `${ctx.name}_sum` }), [
      state.u,
      k1,
      k2,
    ]);
    return { u: ctx.finishStep(u) };
  },
};
