import { applyLayer, type CoefficientStorage, type SchemeDefinition } from '@lm/core-blocks';
import { layerSeed } from '@lm/core-blocks';
import { LinearMultiStep } from '../layers/linear-multi-step';
import { advanceState, shortcutEulerStep } from './euler-update';

export interface LinearMultiStepOptions {
  /** One trainable k per channel instead of one per block. */
  perChannelK?: boolean;
  /** Seed of k_n's initialiser (default: the model seed). */
  seed?: number;
  /** Store k_n ('k') or k' = 1 − k_n ('one-minus-k', the authors'); default: the model's conventions (ctx.coefficientStorage). */
  kParametrisation?: CoefficientStorage;
}

/**
 * The LM architecture: u_{n+1} = (1 − k_n) u_n + k_n u_{n−1} + Δt f(u_n). A step that changes shape goes by
 * forward Euler through the shortcut, whose output is the u_{n−1} of the next step; the very first step has
 * no u_{n−1} and is a forward Euler step, the usual start of a multi-step method.
 */
export const linearMultiStep: SchemeDefinition<LinearMultiStepOptions> = {
  description: 'linear multi-step: u_{n+1} = (1-k_n) u_n + k_n u_{n-1} + dt f(u_n) (LM-ResNet)',
  defaults: { perChannelK: false },
  memory: { states: 1 },
  step: (state, ctx, options) => {
    const previous = state.history?.[0];
    if (ctx.changesShape || previous === undefined) return shortcutEulerStep(state, ctx);
    const f = ctx.residual();
    const lm = new LinearMultiStep({
      name: `${ctx.name}_lm`,
      perChannel: options.perChannelK ?? false,
      dt: ctx.dt,
      seed: layerSeed(options.seed ?? ctx.seed, `${ctx.name}_lm`),
      parametrisation: options.kParametrisation ?? ctx.coefficientStorage,
    });
    const u = applyLayer(lm, [f(state.u), state.u, previous]);
    return advanceState(state, ctx, ctx.finishStep(u));
  },
};
