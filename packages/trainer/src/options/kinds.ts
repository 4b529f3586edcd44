import { OptionError, oneOf } from '../errors';

/**
 * How one option's value is read: `fromFlag` parses the command-line text strictly, `check` validates a
 * value from anywhere (API, config file, preset, flag) and returns it typed. Errors name the option.
 */
export interface OptionKind<T> {
  /** `<n>`, `<x>`, `<name>`...: the placeholder in --help; undefined for a boolean switch. */
  readonly placeholder?: string;
  fromFlag(option: string, text: string): T;
  check(option: string, value: unknown): T;
}

const DECIMAL_INTEGER = /^[+-]?\d+$/;
/** Plain decimal notation: no hex, octal or binary prefixes, no `Infinity`, no `_` separators. */
const DECIMAL_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function describe(v: unknown): string {
  return v !== null && typeof v === 'object' ? JSON.stringify(v) : `'${String(v)}'`;
}

export function fail(option: string, what: string, got: unknown): never {
  throw new OptionError(option, `${option} must be ${what} (got ${describe(got)})`);
}

/** An integer in [min, max] written in decimal digits (no exponent, no hex): seeds are never folded. */
export function integer(min: number, max: number, words: Record<string, number> = {}): OptionKind<number> {
  const what = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer in [${min}, ${max}]`;
  const check = (option: string, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) fail(option, what, v);
    return v;
  };
  return {
    placeholder: '<n>',
    fromFlag(option, text) {
      if (text in words) return words[text]!;
      if (!DECIMAL_INTEGER.test(text)) fail(option, 'an integer', text);
      return check(option, Number(text));
    },
    check,
  };
}

/** A finite number in plain decimal notation that satisfies `ok` (described by `what`). */
export function decimal(what: string, ok: (n: number) => boolean, placeholder = '<x>'): OptionKind<number> {
  const check = (option: string, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) fail(option, what, v);
    return v;
  };
  return {
    placeholder,
    fromFlag(option, text) {
      if (!DECIMAL_NUMBER.test(text.trim())) fail(option, 'a number', text);
      return check(option, Number(text));
    },
    check,
  };
}

/** `all`, or an integer ≥ 1 (`0` is not a synonym of `all`: it is an error that says to write `all`). */
export function countOrAll(): OptionKind<number | 'all'> {
  const check = (option: string, v: unknown): number | 'all' => {
    if (v === 'all') return 'all';
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) fail(option, `'all' or an integer ≥ 1`, v);
    return v;
  };
  return {
    placeholder: '<n|all>',
    fromFlag(option, text) {
      if (text === 'all') return 'all';
      if (!DECIMAL_INTEGER.test(text)) fail(option, `'all' or an integer ≥ 1`, text);
      return check(option, Number(text));
    },
    check,
  };
}

export function choice<T extends string>(allowed: readonly T[], placeholder = '<name>'): OptionKind<T> {
  return { placeholder, fromFlag: (option, text) => oneOf(option, text, allowed), check: (option, v) => oneOf(option, v, allowed) };
}

/** A non-empty string (a path or a name); `''` is an error, never "the current folder". */
export function text(placeholder: string): OptionKind<string> {
  const check = (option: string, v: unknown): string => {
    if (typeof v !== 'string' || v.trim() === '') fail(option, 'a non-empty string', v);
    return v;
  };
  return { placeholder, fromFlag: check, check };
}

/** A switch: present on the command line means `whenGiven` (`--no-augment` sets augment to false). */
export function flag(whenGiven: boolean): OptionKind<boolean> {
  return {
    fromFlag: () => whenGiven,
    check(option, v) {
      if (typeof v !== 'boolean') fail(option, 'true or false', v);
      return v;
    },
  };
}

/** A comma list of choices (`norm,bias`). */
export function choiceList<T extends string>(allowed: readonly T[]): OptionKind<T[]> {
  const check = (option: string, v: unknown): T[] => {
    if (!Array.isArray(v)) fail(option, `a list of: ${allowed.join(', ')}`, v);
    return v.map((g) => oneOf(option, g, allowed));
  };
  return {
    placeholder: '<list>',
    fromFlag: (option, s) => check(option, s.split(',').filter(Boolean)),
    check,
  };
}

/** A repeatable string option (each value non-empty). */
export function textList(placeholder: string): OptionKind<string[]> {
  const check = (option: string, v: unknown): string[] => {
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || !s.trim())) fail(option, 'a list of non-empty strings', v);
    return v as string[];
  };
  return { placeholder, fromFlag: (option, s) => check(option, [s]), check };
}

/** A JSON object, on the command line `'{"key": value}'`; `refine` checks its fields. */
export function jsonObject<T extends object>(example: string, refine: (option: string, o: Record<string, unknown>) => T): OptionKind<T> {
  const check = (option: string, v: unknown): T => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(option, `a JSON object, e.g. '${example}'`, v);
    return refine(option, v as Record<string, unknown>);
  };
  return {
    placeholder: '<json>',
    fromFlag(option, s) {
      let o: unknown;
      try {
        o = JSON.parse(s);
      } catch (e) {
        throw new OptionError(option, `${option} must be a JSON object, e.g. '${example}' (${(e as Error).message})`);
      }
      return check(option, o);
    },
    check,
  };
}
