import { formatParamTable, listModels, parameterTable } from '@lm/schemes';
import '@lm/stochastic';
import '../train/model-variants';
import { loadPlugins } from '../train/plugins';
import { useCpuBackend } from '../backend/select';
import { bool, list, optionHelp, parse, type OptionSpecs } from './args';
import type { Io } from './io';

export const PARAMS_OPTIONS: OptionSpecs = {
  plugin: { type: 'string', multiple: true, value: '<spec>', description: 'plugin to load first; repeatable' },
  json: { type: 'boolean', description: 'print JSON rows' },
};

export async function paramsCommand(argv: string[], io: Io): Promise<number> {
  const p = parse('params', argv, PARAMS_OPTIONS, true);
  if (bool(p, 'help')) {
    io.out(
      `Usage: lm params [filter...] [options]\n\nTrainable parameters of registered models next to the paper's figures.\n` +
        `Filters take wildcards ('lm-resnet*'); the big ResNeXts take a few seconds each to build.\n\nOptions:\n${optionHelp(PARAMS_OPTIONS)}\n`,
    );
    return 0;
  }
  await loadPlugins(list(p, 'plugin'));
  await useCpuBackend();
  const rows = parameterTable(listModels(p.positionals.length ? p.positionals : undefined));
  io.out(bool(p, 'json') ? JSON.stringify(rows) : formatParamTable(rows));
  return 0;
}
