import { type TrainOverrides } from '../config';
import { OptionError, oneOf } from '../errors';
import { TRAIN_OPTION_TABLE, type TrainConfigKey, type TrainOptionDef } from '../options/train-options';
import { PRESETS, PRESET_NAMES } from '../presets';
import { train } from '../train/loop';
import { bool, optionHelp, parse, str, type OptionSpecs, type Parsed } from './args';
import type { Io } from './io';

const PROGRESS_MODES = ['auto', 'bar', 'lines', 'silent'] as const;

/** Flags of `lm train` that steer the process, not the run (they are not stored in the config). */
const RUN_FLAGS: OptionSpecs = {
  resume: { type: 'string', value: '<run>', description: 'continue the run in this run folder (or --out) from its newest verified checkpoint' },
  progress: { type: 'string', value: '<mode>', description: `${PROGRESS_MODES.join(' | ')} (default auto: a bar on a terminal)` },
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

/** Turns `lm train` arguments into config overrides and the process flags. */
export function trainOverrides(argv: string[]): { overrides: TrainOverrides; resume?: string | boolean; progress?: (typeof PROGRESS_MODES)[number]; help: boolean } {
  const p = parse('train', normaliseResume(argv), TRAIN_OPTIONS);
  const overrides = overridesFromFlags(p);
  const progressRaw = str(p, 'progress');
  const progress = progressRaw === undefined ? undefined : oneOf('--progress', progressRaw, PROGRESS_MODES);
  const resumeRaw = str(p, 'resume');
  let resume: string | boolean | undefined;
  if (resumeRaw !== undefined) {
    resume = resumeRaw === '' ? true : resumeRaw;
    if (resume === true && !overrides.out) throw new OptionError('--resume', '--resume needs a run folder: lm train --resume <dir> (or --resume --out <dir>)');
  }
  return { overrides, resume, progress, help: bool(p, 'help') ?? false };
}

export async function trainCommand(argv: string[], io: Io): Promise<number> {
  const { overrides, resume, progress, help } = trainOverrides(argv);
  if (help) {
    io.out(trainHelp());
    return 0;
  }
  const r = await train(overrides, { resume, progress: progress ?? 'auto', log: io.out, warn: io.err, handleSignals: true });
  r.model.dispose();
  return 0;
}
