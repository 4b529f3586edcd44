import { registry } from '@lm/core-blocks';
import { listModels } from '@lm/schemes';
import '@lm/stochastic';
import '../train/model-variants';
import { loadPlugins } from '../train/plugins';
import { bool, list, optionHelp, parse, type OptionSpecs } from './args';
import type { Io } from './io';

export const MODELS_OPTIONS: OptionSpecs = {
  plugin: { type: 'string', multiple: true, value: '<spec>', description: 'plugin to load first; repeatable' },
  long: { type: 'boolean', short: 'l', description: 'with descriptions' },
  json: { type: 'boolean', description: 'print JSON' },
};

export async function modelsCommand(argv: string[], io: Io): Promise<number> {
  const p = parse('models', argv, MODELS_OPTIONS, true);
  if (bool(p, 'help')) {
    io.out(`Usage: lm models [filter...] [options]\n\nRegistered model names (wildcards: 'lm-*').\n\nOptions:\n${optionHelp(MODELS_OPTIONS)}\n`);
    return 0;
  }
  await loadPlugins(list(p, 'plugin'));
  const names = listModels(p.positionals.length ? p.positionals : undefined);
  const describe = (n: string) => (registry.get('model', n) as { description?: string }).description ?? '';
  if (bool(p, 'json')) io.out(JSON.stringify(names.map((name) => ({ name, description: describe(name) }))));
  else if (bool(p, 'long')) {
    const w = Math.max(...names.map((n) => n.length), 0) + 2;
    for (const n of names) io.out(`${n.padEnd(w)}${describe(n)}`);
  } else for (const n of names) io.out(n);
  return 0;
}
