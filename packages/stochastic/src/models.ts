import type * as tfl from '@tensorflow/tfjs-layers';
import { registry as globalRegistry, type CommonModelOptions, type ModelDefinition, type Registry } from '@lm/core-blocks';

/** The options of a model built on a zoo model: the common ones and the strategy shorthands of `createModel`. */
export interface StochasticModelOptions extends CommonModelOptions {
  stochasticDepth?: Record<string, unknown>;
  shakeShake?: Record<string, unknown>;
  noise?: Record<string, unknown>;
}

type Shorthand = 'stochasticDepth' | 'shakeShake';

/**
 * A model that is a registered base model with a strategy switched on, looked up through the registry when it
 * is created (so this package needs no import of @lm/schemes, which registers the bases). The caller's
 * options go through unchanged, and the caller's strategy options are laid over `defaults`.
 */
export function strategyVariant(
  name: string,
  base: string,
  shorthand: Shorthand,
  defaults: Record<string, unknown>,
  description: string,
  registry: Registry = globalRegistry,
): ModelDefinition<StochasticModelOptions> {
  return {
    description,
    create(options: StochasticModelOptions = {}, lookup: Registry = registry): tfl.LayersModel {
      if (!lookup.has('model', base)) {
        throw new Error(
          `Model '${name}' is '${base}' with ${shorthand}, but no model '${base}' is registered: ` +
            `import '@lm/schemes' (it registers the model zoo) before creating '${name}'.`,
        );
      }
      const user = options[shorthand];
      return lookup.get('model', base).create({ ...options, name: options.name ?? name, [shorthand]: { ...defaults, ...(user ?? {}) } }, lookup);
    },
  };
}

/** Bases of the shake-shake variants: `shake-<base>`. */
export const SHAKE_SHAKE_BASES = ['resnet20', 'resnet56', 'lm-resnet20', 'lm-resnet56', 'resnext29-8x64d', 'lm-resnext29-8x64d'] as const;

/** The paper's stochastic-depth LM-ResNets (section 3.2): p_L = 0.8 for LM-ResNet56, 0.5 for LM-ResNet110. */
export const PAPER_STOCHASTIC_DEPTH: Record<string, { base: string; pL: number }> = {
  'sd-lm-resnet56': { base: 'lm-resnet56', pL: 0.8 },
  'sd-lm-resnet110': { base: 'lm-resnet110', pL: 0.5 },
};

/** The models this package adds to the zoo, as registry entries. */
export function stochasticModels(registry: Registry = globalRegistry): Record<string, ModelDefinition<StochasticModelOptions>> {
  const out: Record<string, ModelDefinition<StochasticModelOptions>> = {};
  for (const base of SHAKE_SHAKE_BASES) {
    const name = `shake-${base}`;
    out[name] = strategyVariant(name, base, 'shakeShake', {}, `${base} with shake-shake: two branches per step (Gastaldi 2017, eq. (4) step size)`, registry);
  }
  for (const [name, { base, pL }] of Object.entries(PAPER_STOCHASTIC_DEPTH)) {
    out[name] = strategyVariant(name, base, 'stochasticDepth', { pL }, `${base} with stochastic depth, p_L = ${pL} (the paper, section 3.2)`, registry);
  }
  return out;
}

/** Registers {@link stochasticModels} into `registry` (names already registered are left alone). */
export function registerStochasticModels(registry: Registry): void {
  registry.registerMissing('model', stochasticModels(registry));
}
