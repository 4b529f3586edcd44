import type { ModelOptions } from '@lm/schemes';
import { OptionError } from '../errors';

export const SEED_MAX = 2 ** 32 - 1;

type Check = (v: unknown) => string | undefined;

const isInt = (v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The expected type of each common `createModel` option (CommonModelOptions of @lm/core-blocks). */
const COMMON: Record<string, Check> = {
  numClasses: (v) => (isInt(v, 2) ? undefined : 'an integer ≥ 2'),
  inputShape: (v) => (Array.isArray(v) && v.length === 3 && v.every((x) => isInt(x, 1)) ? undefined : 'an array of three positive integers [height, width, channels]'),
  block: (v) => (typeof v === 'string' && v ? undefined : 'a block name (a string)'),
  blockOptions: (v) => (isObject(v) ? undefined : 'a JSON object'),
  scheme: (v) => (typeof v === 'string' && v ? undefined : 'a scheme name (a string)'),
  schemeOptions: (v) => (isObject(v) ? undefined : 'a JSON object'),
  dt: (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? undefined : 'a positive number'),
  preActivation: (v) => (typeof v === 'boolean' ? undefined : 'true or false'),
  shortcut: (v) => (typeof v === 'string' && v ? undefined : "a shortcut type (a string: 'A', 'projection', 'projection-preact')"),
  perChannelK: (v) => (typeof v === 'boolean' ? undefined : 'true or false'),
  strategy: (v) => (typeof v === 'string' && v ? undefined : isObject(v) && typeof v.name === 'string' ? undefined : 'a strategy name or {"name": ..., "options": {...}}'),
  strategies: (v) =>
    Array.isArray(v) && v.every((x) => (typeof x === 'string' && x) || (isObject(x) && typeof x.name === 'string')) ? undefined : 'a list of strategy names or {"name": ..., "options": {...}}',
  // the preset's name or single fields; @lm/schemes checks the names and values
  conventions: (v) => ((typeof v === 'string' && v) || isObject(v) ? undefined : "a conventions preset ('tfjs', 'authors') or an object of single fields"),
  seed: (v) => (isInt(v, 0, SEED_MAX) ? undefined : `an integer in [0, ${SEED_MAX}]`),
  name: (v) => (typeof v === 'string' && v ? undefined : 'a string'),
};

/** A string that reads as a number or a boolean was almost certainly meant without quotes. */
function quotedScalar(path: string, v: unknown): void {
  if (typeof v === 'string' && (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(v.trim()) || v === 'true' || v === 'false')) {
    throw new OptionError('--model-options', `--model-options: '${path}' is the string "${v}"; write it without quotes (${v}) if a ${v === 'true' || v === 'false' ? 'boolean' : 'number'} is meant`);
  }
  if (isObject(v)) for (const [k, x] of Object.entries(v)) quotedScalar(`${path}.${k}`, x);
  if (Array.isArray(v)) v.forEach((x, i) => quotedScalar(`${path}[${i}]`, x));
}

/**
 * Type-checks `--model-options` before any model is built: every common option against its type, and every
 * other key (a strategy shorthand such as `stochasticDepth`, built-in or from a plugin) must hold an object of
 * that strategy's options. Unknown keys are left to `createModel`, which names them.
 */
export function checkModelOptions(option: string, o: Record<string, unknown>): ModelOptions {
  for (const [key, value] of Object.entries(o)) {
    if (value === undefined) continue;
    const check = COMMON[key];
    const expected = check ? check(value) : isObject(value) ? undefined : `an object of that strategy's options, e.g. {"pL": 0.8}`;
    if (expected) throw new OptionError(option, `${option}: '${key}' must be ${expected} (got ${JSON.stringify(value)})`);
    quotedScalar(key, value);
  }
  return o as ModelOptions;
}
