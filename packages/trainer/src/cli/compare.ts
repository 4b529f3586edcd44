import { OptionError } from '../errors';
import { runComparison, type CompareArm, type ComparePlan } from '../paper/compare';
import { compareMarkdown, writeCompareReport } from '../paper/compare-report';
import { train } from '../train/loop';
import { bool, list, number, optionHelp, parse, str, type OptionSpecs } from './args';
import type { Io } from './io';
import { trainOverrides } from './train';

export const COMPARE_OPTIONS: OptionSpecs = {
  arm: { type: 'string', multiple: true, value: '<label: flags>', description: "an arm: a label and its lm train flags, e.g. 'lm: --model lm-resnet20'; the first is the baseline; repeatable" },
  seeds: { type: 'string', value: '<list>', description: 'paired seeds, e.g. 0,1,2 (default 0,1,2)' },
  out: { type: 'string', value: '<dir>', description: 'comparison folder: plan.json, one run folder per arm and seed, compare.{md,csv,json,svg} (required)' },
  parallel: { type: 'string', value: '<n>', description: 'runs side by side, each a child lm train (default 1)' },
  threads: { type: 'string', value: '<n>', description: 'threads in all, split between the parallel runs (OMP_NUM_THREADS)' },
};

const USAGE = `Usage: lm compare --arm '<label>: <lm train flags>' --arm ... [--seeds 0,1,2] --out <dir> [-- <flags for every arm>]

Arms x paired seeds: every run is a normal, resumable run folder <out>/<arm>/seed-<s>; calling the same command
again resumes unfinished runs and skips finished ones. The score, fixed before the runs, is the held-out top-1
error of the final epoch. Writes every seed's error, mean and sd per arm, the paired differences against the
first arm with a 95% t-interval and a sign count, as compare.md, compare.csv, compare.json and compare.svg.
`;

function splitFlags(spec: string): string[] {
  return spec.trim().split(/\s+/).filter(Boolean);
}

export async function compareCommand(argv: string[], io: Io): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const common = dash < 0 ? [] : argv.slice(dash + 1);
  const p = parse('compare', own, COMPARE_OPTIONS);
  if (bool(p, 'help')) {
    io.out(`${USAGE}\nOptions:\n${optionHelp(COMPARE_OPTIONS)}\n`);
    return 0;
  }
  const out = str(p, 'out');
  if (!out) throw new OptionError('--out', 'lm compare: --out <dir> is required (the comparison folder)');
  const arms: CompareArm[] = list(p, 'arm').map((spec) => {
    const m = /^\s*([^:\s]+)\s*:(.*)$/.exec(spec);
    if (!m) throw new OptionError('--arm', `lm compare: --arm '${spec}' must be '<label>: <lm train flags>'`);
    return { label: m[1]!, flags: splitFlags(m[2]!) };
  });
  const seeds = (str(p, 'seeds') ?? '0,1,2').split(',').map((s) => {
    const n = Number(s);
    if (s.trim() === '' || !Number.isInteger(n) || n < 0) throw new OptionError('--seeds', `lm compare: --seeds must be non-negative integers, got '${s}'`);
    return n;
  });
  for (const flags of [common, ...arms.map((a) => a.flags)]) {
    const bad = flags.find((f) => /^--(seed|out|resume|progress)(=|$)/.test(f));
    if (bad) throw new OptionError('--arm', `lm compare: ${bad} is set by lm compare for every run; remove it from the arm and common flags`);
    trainOverrides(flags); // rejects unknown or malformed flags before any run
  }
  const plan: ComparePlan = { arms, seeds, common, metric: 'final-epoch held-out top-1 error' };
  const parallel = number(p, 'parallel', 'integer') ?? 1;
  const threads = number(p, 'threads', 'integer');
  const r = await runComparison(plan, {
    out,
    parallel,
    threads,
    log: io.err,
    // one run at a time without a thread split: in this process
    ...(parallel === 1 && threads === undefined
      ? {
          runTrain: async (args: string[]) => {
            const t = trainOverrides(args);
            const result = await train(t.overrides, { resume: t.resume, progress: 'silent', log: () => {} });
            result.model.dispose();
          },
        }
      : {}),
  });
  for (const f of writeCompareReport(r, out)) io.err(`wrote ${f}`);
  io.out(compareMarkdown(r));
  return 0;
}
