import { readFileSync } from 'node:fs';
import { type TrainOverrides } from '../config';
import { OptionError, oneOf } from '../errors';
import { TRAIN_OPTION_TABLE, type TrainConfigKey, type TrainOptionDef } from '../options/train-options';
import { PRESETS, PRESET_NAMES } from '../presets';
import { train } from '../train/loop';
import { trainDistributed } from '../distributed/command';
import { integer } from '../options/kinds';
import { bool, optionHelp, parse, str, type OptionSpecs, type Parsed } from './args';
import type { Io } from './io';
import { supervisorStopFlag } from '../supervisor/link';

const PROGRESS_MODES = ['auto', 'bar', 'lines', 'silent'] as const;
const LOG_FORMATS = ['text', 'jsonl'] as const;

/** Flags of `lm train` that steer the process, not the run (they are not stored in the config). */
const RUN_FLAGS: OptionSpecs = {
  resume: { type: 'string', value: '<run>', description: 'continue the run in this run folder (or --out) from its newest verified checkpoint' },
  progress: { type: 'string', value: '<mode>', description: `${PROGRESS_MODES.join(' | ')} (default auto: a bar on a terminal)` },
  config: { type: 'string', value: '<file>', description: "options from a JSON or YAML file (a run's config.json reproduces the run); flags override it" },
  'log-format': { type: 'string', value: '<format>', description: 'text | jsonl: one JSON record per epoch and every --log-every steps on stdout (text lines go to stderr)' },
  'log-every': { type: 'string', value: '<n>', description: 'jsonl: a step record every n steps (default 50)' },
  distributed: { type: 'boolean', description: 'data-parallel: one rank of `mpirun -np N` / `srun`; the global --batch-size is split over ranks' },
  'sync-bn': { type: 'boolean', description: 'with --distributed: batch-norm statistics of the global batch (synchronised over ranks)' },
};

/** The command-line table, derived from the option table: one flag per option that has one. */
export const TRAIN_OPTIONS: OptionSpecs = {
  ...Object.fromEntries(
    Object.values(TRAIN_OPTION_TABLE as Record<string, TrainOptionDef<unknown>>)
      .filter((d) => d.flag)
      .map((d) => [
        d.flag!,
        {
          type: d.kind.placeholder ? 'string' : 'boolean',
          ...(d.multiple ? { multiple: true } : {}),
          ...(d.kind.placeholder ? { value: d.kind.placeholder } : {}),
          description: d.help ?? '',
          ...(d.hidden ? { hidden: true } : {}),
        },
      ]),
  ),
  ...RUN_FLAGS,
} as OptionSpecs;

export function trainHelp(): string {
  const presets = PRESET_NAMES.map((n) => `  ${n.padEnd(24)}${PRESETS[n].description}`).join('\n');
  return `Usage: lm train [options]

Trains a model; with no options, LM-ResNet-20 on CIFAR-10 with the quick preset (synthetic data, said so, when
CIFAR-10 is neither on disk nor downloadable; an explicit --dataset, --preset or --data never falls back).

Options:
${optionHelp(TRAIN_OPTIONS)}

Presets:
${presets}
`;
}

/** `--resume` with no value: use the --out folder. */
function normaliseResume(argv: string[]): string[] {
  return argv.map((a, i) => (a === '--resume' && (i === argv.length - 1 || argv[i + 1]!.startsWith('-')) ? '--resume=' : a));
}

/** The config overrides the flags give (only the flags given, so presets and defaults fill the rest). */
export function overridesFromFlags(p: Parsed): TrainOverrides {
  const o: Record<string, unknown> = {};
  for (const [key, d] of Object.entries(TRAIN_OPTION_TABLE as Record<string, TrainOptionDef<unknown>>)) {
    if (!d.flag) continue;
    const raw = p.values[d.flag];
    if (raw === undefined || raw === false) continue;
    const option = `--${d.flag}`;
    if (Array.isArray(raw)) o[key] = d.kind.check(option, raw);
    else o[key] = d.kind.fromFlag(option, typeof raw === 'string' ? raw : '');
  }
  return o as TrainOverrides;
}

/** The flag that sets a config key, for messages. */
export function flagOf(key: TrainConfigKey): string {
  const d = TRAIN_OPTION_TABLE[key] as TrainOptionDef<unknown>;
  return d.flag ? `--${d.flag}` : key;
}

/** The options of a config file (JSON, or YAML by extension), each checked when the config resolves; errors name the file. */
export async function readConfigFile(file: string): Promise<TrainOverrides> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new OptionError('--config', `--config '${file}': cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let o: unknown;
  try {
    o = /\.ya?ml$/i.test(file) ? (await import('yaml')).parse(text) : JSON.parse(text);
  } catch (e) {
    throw new OptionError('--config', `--config '${file}' is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new OptionError('--config', `--config '${file}' must hold an object of options (keys as in a run's config.json)`);
  for (const key of Object.keys(o)) {
    if (!(key in TRAIN_OPTION_TABLE)) throw new OptionError('--config', `--config '${file}': unknown option '${key}'. Options: ${Object.keys(TRAIN_OPTION_TABLE).join(', ')}`);
  }
  return o as TrainOverrides;
}

export interface TrainInvocation {
  overrides: TrainOverrides;
  resume?: string | boolean;
  progress?: (typeof PROGRESS_MODES)[number];
  config?: string;
  logFormat: (typeof LOG_FORMATS)[number];
  logEvery: number;
  help: boolean;
}

/** Turns `lm train` arguments into config overrides and the process flags. */
export function trainOverrides(argv: string[]): TrainInvocation {
  const p = parse('train', normaliseResume(argv), TRAIN_OPTIONS);
  const overrides = overridesFromFlags(p);
  const logFormatRaw = str(p, 'log-format');
  const logEveryRaw = str(p, 'log-every');
  const progressRaw = str(p, 'progress');
  const progress = progressRaw === undefined ? undefined : oneOf('--progress', progressRaw, PROGRESS_MODES);
  const resumeRaw = str(p, 'resume');
  let resume: string | boolean | undefined;
  if (resumeRaw !== undefined) {
    resume = resumeRaw === '' ? true : resumeRaw;
    if (resume === true && !overrides.out) throw new OptionError('--resume', '--resume needs a run folder: lm train --resume <dir> (or --resume --out <dir>)');
  }
  return {
    overrides,
    resume,
    progress,
    config: str(p, 'config'),
    logFormat: logFormatRaw === undefined ? 'text' : oneOf('--log-format', logFormatRaw, LOG_FORMATS),
    logEvery: logEveryRaw === undefined ? 50 : integer(1, Number.MAX_SAFE_INTEGER).fromFlag('--log-every', logEveryRaw),
    help: bool(p, 'help') ?? false,
  };
}

export async function trainCommand(argv: string[], io: Io): Promise<number> {
  const inv = trainOverrides(argv);
  if (inv.help) {
    io.out(trainHelp());
    return 0;
  }
  if (inv.config && inv.resume) throw new OptionError('--config', '--config with --resume: a resumed run keeps its stored config; leave --config out');
  const overrides = inv.config ? { ...(await readConfigFile(inv.config)), ...inv.overrides } : inv.overrides;
  if (argv.includes('--distributed')) {
    return (await trainDistributed(overrides, { resume: inv.resume, progress: inv.progress, syncBn: argv.includes('--sync-bn') || undefined }, io)).code;
  }
  if (argv.includes('--sync-bn')) throw new OptionError('--sync-bn', '--sync-bn needs --distributed');
  const jsonl = inv.logFormat === 'jsonl';
  // in the worker the supervisor (supervisor/supervise.ts) trains in, it owns the signals and shares a stop flag
  const stopFlag = supervisorStopFlag();
  const r = await train(overrides, {
    resume: inv.resume,
    progress: inv.progress ?? 'auto',
    log: jsonl ? io.err : io.out,
    warn: io.err,
    ...(stopFlag ? { stopFlag } : { handleSignals: true }),
    ...(jsonl
      ? {
          onStepEnd: (s) => {
            if (s.globalStep % inv.logEvery === 0) io.out(JSON.stringify({ type: 'step', epoch: s.epoch, step: s.step, stepsPerEpoch: s.stepsPerEpoch, globalStep: s.globalStep, loss: s.loss, lr: s.lr }));
          },
          onEpochEnd: (rec) => io.out(JSON.stringify({ type: 'epoch', ...rec })),
        }
      : {}),
  });
  r.model.dispose();
  return 0;
}
