import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@lm/core-blocks/node';
import { OptionError } from '../errors';
import { readMetricsLog } from '../log';
import type { TrainConfig } from '../config';
import { mean, pairedDifference, sd, type PairedDifference } from './paired-stats';

/** One arm: a label and the `lm train` flags that make it (model, options). */
export interface CompareArm {
  label: string;
  flags: string[];
}

/**
 * A comparison, fixed before any run: arms × paired seeds (the same seed gives the same initialisation and data
 * order in every arm), `common` flags for all, scored on the held-out top-1 error of the final epoch (never the
 * best epoch). Stored as plan.json; a later call with another plan for the same folder is refused.
 */
export interface ComparePlan {
  arms: CompareArm[];
  seeds: number[];
  common: string[];
  metric: 'final-epoch held-out top-1 error';
}

export interface RunResult {
  arm: string;
  seed: number;
  dir: string;
  /** The final epoch's held-out top-1 error; undefined while the run is unfinished. */
  error?: number;
  split?: string;
  epoch?: number;
  epochs?: number;
}

export interface ArmSummary {
  arm: string;
  n: number;
  mean: number;
  sd: number;
}

export interface CompareResult {
  plan: ComparePlan;
  runs: RunResult[];
  arms: ArmSummary[];
  /** Each arm against the first (arm − baseline, paired by seed). */
  differences: ({ arm: string; baseline: string } & PairedDifference)[];
  complete: boolean;
}

export const runDir = (out: string, arm: string, seed: number) => join(out, arm, `seed-${seed}`);

/** Checks labels, records the plan (or verifies it against the recorded one). */
export function fixPlan(out: string, plan: ComparePlan): void {
  const labels = plan.arms.map((a) => a.label);
  if (labels.length < 2) throw new OptionError('--arm', 'lm compare: give at least two --arm');
  for (const l of labels) if (!/^[\w.+-]+$/.test(l)) throw new OptionError('--arm', `lm compare: arm label '${l}' must be letters, digits, '.', '+', '-' or '_'`);
  if (new Set(labels).size !== labels.length) throw new OptionError('--arm', `lm compare: arm labels must differ (got ${labels.join(', ')})`);
  if (!plan.seeds.length || new Set(plan.seeds).size !== plan.seeds.length) throw new OptionError('--seeds', 'lm compare: --seeds must list distinct seeds');
  mkdirSync(out, { recursive: true });
  const file = join(out, 'plan.json');
  const text = `${JSON.stringify(plan, null, 2)}\n`;
  if (existsSync(file)) {
    if (readFileSync(file, 'utf8') !== text) {
      throw new OptionError('--out', `lm compare: ${file} records another plan (arms, seeds, common flags or metric differ); use a new --out`);
    }
    return;
  }
  writeFileAtomic(file, text);
}

/** The final-epoch result of a run folder, if it finished. */
export function readRunResult(arm: string, seed: number, dir: string): RunResult {
  const metrics = join(dir, 'metrics.jsonl');
  const cfgFile = join(dir, 'config.json');
  if (!existsSync(metrics) || !existsSync(cfgFile)) return { arm, seed, dir };
  const epochs = (JSON.parse(readFileSync(cfgFile, 'utf8')) as TrainConfig).epochs;
  const records = readMetricsLog(readFileSync(metrics, 'utf8'));
  const last = records[records.length - 1];
  if (!last || last.epoch !== epochs || !last.eval) return { arm, seed, dir, epoch: last?.epoch, epochs };
  return { arm, seed, dir, error: last.eval.top1Error, split: last.eval.split, epoch: last.epoch, epochs };
}

/** Per-arm mean and sd, and paired differences against the first arm, over the seeds every arm finished. */
export function summarise(plan: ComparePlan, runs: RunResult[]): CompareResult {
  const value = (arm: string, seed: number) => runs.find((r) => r.arm === arm && r.seed === seed)?.error;
  const seeds = plan.seeds.filter((s) => plan.arms.every((a) => value(a.label, s) !== undefined));
  const arms = plan.arms.map((a) => {
    const xs = seeds.map((s) => value(a.label, s)!);
    return { arm: a.label, n: xs.length, mean: xs.length ? mean(xs) : Number.NaN, sd: sd(xs) };
  });
  const base = plan.arms[0]!.label;
  const differences = seeds.length
    ? plan.arms.slice(1).map((a) => ({ arm: a.label, baseline: base, ...pairedDifference(seeds.map((s) => value(a.label, s)!), seeds.map((s) => value(base, s)!)) }))
    : [];
  return { plan, runs, arms, differences, complete: seeds.length === plan.seeds.length };
}

export interface RunnerOptions {
  out: string;
  /** Runs at once (child processes when > 1). */
  parallel?: number;
  /** Threads in all: each of the parallel runs gets threads / parallel (OMP_NUM_THREADS). */
  threads?: number;
  log?: (line: string) => void;
  /** Runs one `lm train` with these arguments (default: a child process of this `lm`, or in-process). */
  runTrain?: (args: string[], env: Record<string, string>) => Promise<void>;
}

/** `lm train` in a child process of the running `lm` command. */
export function childTrain(args: string[], env: Record<string, string>): Promise<void> {
  const entry = process.argv[1];
  if (!entry) throw new Error('lm compare: cannot tell how this lm was started (process.argv[1] is empty)');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, entry, 'train', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`lm train ${args.join(' ')} exited with ${code}: ${stderr.trim().split('\n').pop()}`))));
  });
}

/** Runs every unfinished run of the plan (resuming interrupted ones), `parallel` at a time. */
export async function runComparison(plan: ComparePlan, o: RunnerOptions): Promise<CompareResult> {
  fixPlan(o.out, plan);
  const log = o.log ?? (() => {});
  const parallel = Math.max(1, o.parallel ?? 1);
  const env: Record<string, string> = o.threads ? { OMP_NUM_THREADS: String(Math.max(1, Math.floor(o.threads / parallel))) } : {};
  const runTrain = o.runTrain ?? childTrain;
  // seed-major order: the first pairs finish first
  const queue = plan.seeds.flatMap((seed) => plan.arms.map((arm) => ({ arm, seed })));
  const work = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const dir = runDir(o.out, job.arm.label, job.seed);
      if (readRunResult(job.arm.label, job.seed, dir).error !== undefined) continue;
      const resume = existsSync(join(dir, 'checkpoints', 'latest'));
      log(`${resume ? 'resuming' : 'starting'} ${job.arm.label} seed ${job.seed}: ${dir}`);
      await runTrain([...plan.common, ...job.arm.flags, '--seed', String(job.seed), '--out', dir, '--progress', 'silent', ...(resume ? ['--resume'] : [])], env);
      log(`finished ${job.arm.label} seed ${job.seed}`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, work));
  const runs = plan.seeds.flatMap((seed) => plan.arms.map((a) => readRunResult(a.label, seed, runDir(o.out, a.label, seed))));
  return summarise(plan, runs);
}
