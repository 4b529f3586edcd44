import type { Registry, SchemeDefinition } from '@lm/core-blocks';
import { approxBackwardEuler } from './backward-euler';
import { forwardEuler } from './forward-euler';
import { adamsBashforth2, linearKStep } from './linear-k-step';
import { linearMultiStep } from './linear-multi-step';
import { revnetCoupling } from './revnet';
import { rungeKutta2 } from './runge-kutta2';

/** The schemes that ship with @lm/schemes. */
export const builtinSchemes: Record<string, SchemeDefinition<any>> = {
  'forward-euler': forwardEuler,
  'linear-multi-step': linearMultiStep,
  'runge-kutta2': rungeKutta2,
  'approx-backward-euler': approxBackwardEuler,
  revnet: revnetCoupling,
  'linear-k-step': linearKStep,
  'adams-bashforth2': adamsBashforth2,
};

export function registerBuiltinSchemes(registry: Registry): void {
  registry.registerMissing('scheme', builtinSchemes, { provider: '@lm/schemes' });
}
