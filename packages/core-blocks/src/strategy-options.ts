import type { StrategyChoice, StrategyDefinition } from './contracts';
import type { Registry } from './registry';

/** The `createModel` shorthand key of a strategy: its declared `optionKey`, else its name in camelCase. */
export function strategyOptionKey(name: string, definition: Pick<StrategyDefinition, 'optionKey'>): string {
  return definition.optionKey ?? name.replace(/[-_.]+([a-z0-9])/gi, (_, c: string) => c.toUpperCase());
}

/** Shorthand option keys of the strategies registered in `registry`: key → strategy name. */
export function strategyOptionKeys(registry: Registry): Map<string, string> {
  const keys = new Map<string, string>();
  for (const name of registry.list('strategy')) keys.set(strategyOptionKey(name, registry.get('strategy', name)), name);
  return keys;
}

/** `'name'` or `{ name, options }` as one form. */
export function toStrategyChoice(spec: string | StrategyChoice): StrategyChoice {
  return typeof spec === 'string' ? { name: spec } : spec;
}
