import type { ModelDefinition, StrategyChoice } from '@lm/core-blocks';
import type { ModelOptions } from './model-options';

/**
 * A registered model with strategies switched on, looked up in the caller's registry when it is created:
 * `strategyVariant('sd-lm-resnet56', 'lm-resnet56', [{ name: 'stochastic-depth', options: { pL: 0.8 } }], ...)`.
 * The caller's options go through, and the caller's options for the same strategies lay over these.
 */
export function strategyVariant(name: string, base: string, strategies: StrategyChoice[], description: string): ModelDefinition<ModelOptions> {
  return {
    description,
    create(options, registry) {
      if (!registry.has('model', base)) {
        throw new Error(`Model '${name}' is '${base}' with ${strategies.map((s) => `'${s.name}'`).join(', ')}, but no model '${base}' is registered.`);
      }
      const { strategies: more, ...rest } = options;
      return registry.get('model', base).create({ strategies: [...strategies, ...(more ?? [])], ...rest, name: options.name ?? name }, registry);
    },
  };
}
