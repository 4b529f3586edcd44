import type { SchemeDefinition } from '@lm/core-blocks';
import { shortcutEulerStep } from './euler-update';

/** ResNet as forward Euler on u_t = f(u): u_{n+1} = u_n + Δt f(u_n) (S(u_n) in place of u_n where the shape changes). */
export const forwardEuler: SchemeDefinition<{}> = {
  description: 'forward Euler: u_{n+1} = u_n + dt f(u_n) (ResNet)',
  step: (state, ctx) => {
    const next = shortcutEulerStep(state, ctx);
    return { u: next.u };
  },
};
