import { OptionError } from './errors';
import { getPreset } from './presets';
import { optionDef, optionName, TRAIN_CONFIG_KEYS, type TrainConfig, type TrainConfigKey } from './options/train-options';

export { BACKEND_CHOICES, EVAL_SPLITS, WD_EXCLUDE_GROUPS, TRAIN_OPTION_TABLE, TRAIN_CONFIG_KEYS, optionName } from './options/train-options';
export type { BackendChoice, EvalSplit, WdExcludeGroup, TrainConfig, TrainConfigKey, TrainOptionDef } from './options/train-options';

export type TrainOverrides = Partial<TrainConfig>;

/** Checks that hold between options (each option alone is checked by its kind). */
function crossCheck(c: TrainConfig): void {
  if (c.nesterov && c.momentum === 0) throw new OptionError('--nesterov', '--nesterov needs --momentum > 0');
  if (c.warmupEpochs > c.epochs) throw new OptionError('--warmup-epochs', `--warmup-epochs ${c.warmupEpochs} is longer than the run (--epochs ${c.epochs})`);
  if (c.dataset === 'imagenet' && !c.data) {
    throw new OptionError('--data', '--data must name the ImageNet training folder (one sub-folder per class) for --dataset imagenet');
  }
}

function rejectUnknown(o: object, where: string): void {
  for (const k of Object.keys(o)) {
    if (!(TRAIN_CONFIG_KEYS as string[]).includes(k)) throw new OptionError(k, `${where}: unknown option '${k}'. Options: ${TRAIN_CONFIG_KEYS.join(', ')}`);
  }
}

/** Defaults ← preset ← overrides, each value checked by its option's kind, then the cross-checks. Errors name the option. */
export function resolveConfig(overrides: TrainOverrides = {}): TrainConfig {
  rejectUnknown(overrides, 'train');
  const given = overrides as Record<string, unknown>;
  const presetName = optionDef('preset').kind.check('--preset', given.preset ?? 'quick') as string;
  const ctx = { preset: getPreset(presetName), given, resolved: {} as Record<string, unknown> };
  for (const key of TRAIN_CONFIG_KEYS) {
    const d = optionDef(key);
    const v = given[key];
    let value: unknown;
    if (v === undefined) value = d.default?.(ctx);
    else {
      value = d.kind.check(optionName(key), v);
      if (d.mergeOverDefault) value = { ...(d.default?.(ctx) as object), ...(value as object) };
    }
    if (value !== undefined) ctx.resolved[key] = value;
  }
  const c = ctx.resolved as TrainConfig;
  crossCheck(c);
  return c;
}

/** Checks a complete config (e.g. one read from a checkpoint or a config file): every option present and valid. */
export function validateConfig(c: TrainConfig, where = 'config'): void {
  rejectUnknown(c, where);
  for (const key of TRAIN_CONFIG_KEYS) {
    const d = optionDef(key);
    const v = (c as Record<string, unknown>)[key];
    if (v === undefined) {
      if (!d.optional) throw new OptionError(optionName(key), `${where}: '${key}' is missing`);
      continue;
    }
    d.kind.check(optionName(key as TrainConfigKey), v);
  }
  crossCheck(c);
}
