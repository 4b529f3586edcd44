import { parseArgs, type ParseArgsConfig } from 'node:util';
import { OptionError } from '../errors';
import { decimal, integer } from '../options/kinds';

export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** Shown in --help: `<value>` placeholder and description. */
  value?: string;
  description: string;
  hidden?: boolean;
}

export type OptionSpecs = Record<string, OptionSpec>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** node:util parseArgs with errors that name the option and list the command's options. */
export function parse(command: string, argv: string[], specs: OptionSpecs, allowPositionals = false): Parsed {
  const options: ParseArgsConfig['options'] = { help: { type: 'boolean', short: 'h' } };
  for (const [name, s] of Object.entries(specs)) {
    options![name] = { type: s.type, ...(s.multiple ? { multiple: true } : {}), ...(s.short ? { short: s.short } : {}) };
  }
  try {
    const r = parseArgs({ args: argv, options, allowPositionals, strict: true });
    return { values: r.values as Parsed['values'], positionals: r.positionals };
  } catch (e) {
    const msg = (e as Error).message;
    const known = Object.entries(specs)
      .filter(([, s]) => !s.hidden)
      .map(([n]) => `--${n}`)
      .join(', ');
    const unknown = /Unknown option '([^']+)'/.exec(msg);
    if (unknown) throw new OptionError(unknown[1]!, `lm ${command}: unknown option '${unknown[1]}'. Options: ${known}`);
    const missing = /Option '(-\w, )?(--[\w-]+)[^']*' argument missing/.exec(msg);
    if (missing) throw new OptionError(missing[2]!, `lm ${command}: option '${missing[2]}' needs a value (${specs[missing[2]!.slice(2)]?.value ?? 'value'})`);
    const positional = /Unexpected argument '([^']+)'/.exec(msg);
    if (positional) throw new OptionError(positional[1]!, `lm ${command}: unexpected argument '${positional[1]}' (options start with --; see lm ${command} --help)`);
    throw new OptionError('argv', `lm ${command}: ${msg}`);
  }
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function bool(p: Parsed, name: string): boolean | undefined {
  const v = p.values[name];
  return typeof v === 'boolean' ? v : undefined;
}

export function list(p: Parsed, name: string): string[] {
  const v = p.values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

/** A number option, parsed strictly (decimal notation only); a non-number is an error naming the option. */
export function number(p: Parsed, name: string, what: 'integer' | 'number' = 'number'): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  const kind = what === 'integer' ? integer(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER) : decimal('a number', () => true);
  return kind.fromFlag(`--${name}`, v);
}

/** The help text of a command's options, aligned. */
export function optionHelp(specs: OptionSpecs): string {
  const rows = Object.entries(specs)
    .filter(([, s]) => !s.hidden)
    .map(([n, s]) => [`  ${s.short ? `-${s.short}, ` : ''}--${n}${s.value ? ` ${s.value}` : ''}`, s.description] as const);
  const w = Math.max(...rows.map((r) => r[0].length)) + 2;
  return rows.map(([a, b]) => a.padEnd(w) + b).join('\n');
}
