import { registry, type ModelDefinition, type Registry } from '@lm/core-blocks';
import { strategyVariant, type ModelOptions } from '@lm/schemes';
import '@lm/stochastic';

/**
 * The paper's zoo models with a stochastic strategy switched on. They name models of @lm/schemes and strategies of
 * @lm/stochastic, so they live here, in the package that depends on both.
 */
export const SHAKE_SHAKE_BASES = ['resnet20', 'resnet56', 'lm-resnet20', 'lm-resnet56', 'resnext29-8x64d', 'lm-resnext29-8x64d'] as const;

/** The paper's stochastic-depth LM-ResNets (section 3.2): p_L = 0.8 for LM-ResNet56, 0.5 for LM-ResNet110. */
export const PAPER_STOCHASTIC_DEPTH: Record<string, { base: string; pL: number }> = {
  'sd-lm-resnet56': { base: 'lm-resnet56', pL: 0.8 },
  'sd-lm-resnet110': { base: 'lm-resnet110', pL: 0.5 },
};

/** `shake-<base>` and `sd-lm-resnet56/110`, as registry entries. */
export function modelVariants(): Record<string, ModelDefinition<ModelOptions>> {
  const out: Record<string, ModelDefinition<ModelOptions>> = {};
  for (const base of SHAKE_SHAKE_BASES) {
    out[`shake-${base}`] = strategyVariant(`shake-${base}`, base, [{ name: 'shake-shake' }], `${base} with shake-shake: two branches per step (Gastaldi 2017, eq. (4) step size)`);
  }
  for (const [name, { base, pL }] of Object.entries(PAPER_STOCHASTIC_DEPTH)) {
    out[name] = strategyVariant(name, base, [{ name: 'stochastic-depth', options: { pL } }], `${base} with stochastic depth, p_L = ${pL} (the paper, section 3.2)`);
  }
  return out;
}

export function registerModelVariants(target: Registry): void {
  target.registerMissing('model', modelVariants(), { provider: '@lm/trainer' });
}

registerModelVariants(registry);
