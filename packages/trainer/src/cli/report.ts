import { OptionError } from '../errors';
import { writeReport } from '../report/report';
import { bool, number, optionHelp, parse, str, type OptionSpecs } from './args';
import type { Io } from './io';

export const REPORT_OPTIONS: OptionSpecs = {
  out: { type: 'string', value: '<dir>', description: 'output folder (default: report)' },
  title: { type: 'string', value: '<text>', description: 'page title' },
  width: { type: 'string', value: '<px>', description: 'width of each figure in pixels (default 1200)' },
};

export async function reportCommand(argv: string[], io: Io): Promise<number> {
  const p = parse('report', argv, REPORT_OPTIONS, true);
  if (bool(p, 'help')) {
    io.out(
      `Usage: lm report <run folder...> [--out <dir>]\n\nAn HTML page and PNG figures from run folders: error curves (the paper's Figures 3 and 5),\nlearned k_n per block (Figure 4) and a table of final errors.\n\nOptions:\n${optionHelp(REPORT_OPTIONS)}\n`,
    );
    return 0;
  }
  if (!p.positionals.length) throw new OptionError('runs', 'lm report: give one or more run folders (each with a metrics.jsonl)');
  const r = await writeReport(p.positionals, { out: str(p, 'out') ?? 'report', title: str(p, 'title'), width: number(p, 'width', 'integer') });
  for (const f of r.files) io.out(f);
  return 0;
}
