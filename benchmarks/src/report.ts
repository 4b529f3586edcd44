import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

export type Cell = string | number | null;

export interface BenchTable {
  /** File stem of the JSON and Markdown results, e.g. `train-throughput`. */
  name: string;
  title: string;
  columns: string[];
  rows: Cell[][];
  /** Free-form facts of the run (threads, versions, skipped peers and why). */
  notes?: string[];
  /** Anything else worth keeping in the JSON. */
  extra?: Record<string, unknown>;
}

function atomicWrite(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function formatCell(c: Cell): string {
  if (c === null) return 'skipped';
  if (typeof c === 'number') return Number.isInteger(c) ? String(c) : c.toPrecision(4);
  return c;
}

export function toMarkdown(t: BenchTable): string {
  const lines = [`## ${t.title}`, '', `| ${t.columns.join(' | ')} |`, `|${t.columns.map(() => ' --- ').join('|')}|`];
  for (const r of t.rows) lines.push(`| ${r.map(formatCell).join(' | ')} |`);
  if (t.notes?.length) lines.push('', ...t.notes.map((n) => `- ${n}`));
  return lines.join('\n') + '\n';
}

export { median } from './stats';

/** Prints the table and writes `results/<name>.json` and `results/<name>.md` atomically. */
export function writeBenchResult(t: BenchTable): void {
  const md = toMarkdown(t);
  process.stdout.write('\n' + md);
  const json = { ...t, date: new Date().toISOString(), node: process.version };
  atomicWrite(join(resultsDir, `${t.name}.json`), JSON.stringify(json, null, 2) + '\n');
  atomicWrite(join(resultsDir, `${t.name}.md`), md);
}

/** Root of the shared datasets beside the project (`../shared`), overridable with LM_SHARED_DIR. */
export function sharedDir(): string {
  return process.env.LM_SHARED_DIR ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared');
}
