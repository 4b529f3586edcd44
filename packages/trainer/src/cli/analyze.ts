import { OptionError, oneOf } from '../errors';
import { analysisCsv, analysisMarkdown } from '../paper/analyze';
import { analyzeCheckpoint } from '../paper/analyze-checkpoint';
import { bool, list, optionHelp, parse, str, type OptionSpecs } from './args';
import type { Io } from './io';

export const ANALYZE_OPTIONS: OptionSpecs = {
  out: { type: 'string', value: '<dir>', description: 'also write analysis.{md,csv,json} and coefficients.svg there (default: analysis)' },
  format: { type: 'string', value: '<fmt>', description: 'printed table: markdown | csv | json (default markdown)' },
  title: { type: 'string', value: '<text>', description: 'figure title' },
  plugin: { type: 'string', multiple: true, value: '<spec>', description: 'plugin to load first; repeatable' },
};

export async function analyzeCommand(argv: string[], io: Io): Promise<number> {
  const p = parse('analyze', argv, ANALYZE_OPTIONS, true);
  if (bool(p, 'help')) {
    io.out(
      `Usage: lm analyze <checkpoint | run folder | model folder> [options]\n\nFor every step of the scheme: the learned coefficients, the roots of the characteristic polynomial\n(two-step: 1 and -k_n), zero-stability, the consistency order and the modified equation of the paper's\neq. (3), (1 + k_n) u' + (1 - k_n) dt/2 u'' = f(u); a figure of k_n against depth with the stable band.\n\nOptions:\n${optionHelp(ANALYZE_OPTIONS)}\n`,
    );
    return 0;
  }
  const checkpoint = p.positionals[0];
  if (!checkpoint || p.positionals.length > 1) throw new OptionError('checkpoint', 'lm analyze: give one checkpoint, run folder or saved model folder');
  const format = oneOf('--format', str(p, 'format') ?? 'markdown', ['markdown', 'csv', 'json'] as const);
  const r = await analyzeCheckpoint(checkpoint, { out: str(p, 'out') ?? 'analysis', plugins: list(p, 'plugin'), title: str(p, 'title') });
  io.out(format === 'json' ? JSON.stringify(r.rows, null, 2) : format === 'csv' ? analysisCsv(r.rows) : analysisMarkdown(r.rows));
  for (const f of r.files) io.err(`wrote ${f}`);
  return 0;
}
