/**
 * train-throughput: training and evaluation images/s of the model zoo on the `onednn` TensorFlow.js backend
 * and of the same architectures in PyTorch (torch_models.py), side by side in one run with the same thread
 * count, plus the peak resident memory of each side's training run.
 *
 * The onednn side times the step `lm train` runs: @lm/trainer's model builder, loss, SGD (momentum 0.9,
 * weight decay 5e-4) and metrics, in the order of the trainer's loop. PyTorch runs torch.optim.SGD with the same
 * settings and evaluates under no_grad. Each (model, side) runs in its own process, so peak RSS is that run's;
 * these runs give the absolute images/s (sides alternate per model and round, each keeps its best round).
 * The machine is shared and its speed drifts by +-20% within minutes, so the ratios of those separate runs are
 * noisy; the `lockstep` columns are the comparison to read: per model both sides run as servers at once
 * (lockstep.ts) and take turns, one training step (then one evaluation batch) at a time, A B B A A B ..., for
 * the pairs that BENCH_LOCKSTEP_* allow; they give the median and range of the per-pair ratios torch_ms / onednn_ms.
 * For the first model the report adds a per-kernel profile of one step, the time outside kernels, the number of
 * kernel dispatches per step and the native-coverage report (which kernels fell back to cpu, and why).
 *
 * When both lm-resnet20 and preact-resnet20 are among the models, one more process per side times their steps
 * alternately (the median of BENCH_PAIR_STEPS pair ratios and its 95% CI): the cost of the LM scheme, with the
 * machine's drift on both; PyTorch's own ratio says what the scheme costs there.
 * Env: BENCH_MODELS (default: the six of issue 12), BENCH_THREADS (OMP_NUM_THREADS or the cores), BENCH_STEPS (8),
 * BENCH_WARMUP (2), BENCH_ROUNDS (1), BENCH_EVAL_BATCH (100), BENCH_EVAL_STEPS (5), BENCH_PAIR_STEPS (200: 40 pairs left a 95% CI about 0.09 wide, too wide to place a 3-4% cost against 5%),
 * BENCH_LOCKSTEP_PAIRS (30, the most per kind; 0 leaves the lockstep columns out), BENCH_LOCKSTEP_MIN_PAIRS (10),
 * BENCH_LOCKSTEP_BUDGET_S (90: no new pair of a kind after that many seconds, once the least number is reached), BENCH_LOCKSTEP_TIMEOUT_S (1800), PYTHON;
 * LM_BENCH_SHORT=1: one round, 1 warm-up + 1 step, 1 lockstep pair, batch 4, so CI checks that every part still runs.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { type LockstepResult, runLockstep } from './lockstep';
import { type Cell, writeBenchResult } from './report';
import { SHORT, shortNote } from './short';
import { medianInterval, type PairPlan, sideOfBound } from './stats';

const here = dirname(fileURLToPath(import.meta.url));
const threads = Number(process.env.BENCH_THREADS ?? process.env.OMP_NUM_THREADS ?? availableParallelism());
process.env.OMP_NUM_THREADS = String(threads);

/** Models of issue 12 and their training batch. */
const ZOO: Record<string, number> = {
  resnet20: 128,
  'preact-resnet20': 128,
  'lm-resnet20': 128,
  resnet56: 128,
  'lm-resnet56': 128,
  'lm-resnext29-8x64d': 32,
};
const models = (process.env.BENCH_MODELS ?? Object.keys(ZOO).join(',')).split(',');
const steps = SHORT ? 1 : Number(process.env.BENCH_STEPS ?? 8);
const warmup = SHORT ? 1 : Number(process.env.BENCH_WARMUP ?? 2);
const rounds = SHORT ? 1 : Number(process.env.BENCH_ROUNDS ?? 1);
const lockstepPairs = SHORT ? 1 : Number(process.env.BENCH_LOCKSTEP_PAIRS ?? 30);
const lockstepPlan: PairPlan = {
  max: lockstepPairs,
  min: SHORT ? 1 : Math.min(lockstepPairs, Number(process.env.BENCH_LOCKSTEP_MIN_PAIRS ?? 10)),
  budgetS: SHORT ? 0 : Number(process.env.BENCH_LOCKSTEP_BUDGET_S ?? 90),
};
const evalBatch = SHORT ? 4 : Number(process.env.BENCH_EVAL_BATCH ?? 100);
const evalSteps = SHORT ? 1 : Number(process.env.BENCH_EVAL_STEPS ?? 5);
const batchOf = (m: string) => (SHORT ? 4 : Number(process.env.BENCH_BATCH ?? ZOO[m] ?? 128));

/** What one side reports for one model (one JSON line of a worker). */
export interface SideResult {
  model: string;
  batch: number;
  train_images_per_s: number;
  best_train_images_per_s: number;
  mean_step_ms: number;
  eval_images_per_s: number;
  /** Peak resident set of the process after the training steps, MB. */
  peak_rss_mb: number;
  profile?: Array<[string, number, number]>;
  kernel_ms?: number;
  profiled_step_ms?: number;
  dispatches?: number;
  /** Wall and CPU ms per step of each kernel (cpu-share.ts), and of the whole step, over `steps` steps. */
  cpu_share?: { steps: number; step_wall_ms: number; step_cpu_ms: number; kernels: Array<{ kernel: string; calls: number; wallMs: number; cpuMs: number }> };
  coverage?: { native: number; views: number; fallbacks: string[] };
}

function findPython(): string | undefined {
  for (const py of [process.env.PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean) as string[]) {
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return undefined;
}

function runWorker(cmd: string, args: string[]): SideResult | { error: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) }, maxBuffer: 1 << 26 });
  const line = (r.stdout ?? '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !line) return { error: `exit ${r.status}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}` };
  return JSON.parse(line) as SideResult;
}

const py = findPython();
const notes: string[] = [];
if (!py) notes.push('PyTorch: skipped (no python3 that can `import torch`; install python3-torch)');
const best = { onednn: new Map<string, SideResult>(), torch: new Map<string, SideResult>() };
let failed = 0;
const keep = (side: 'onednn' | 'torch', r: SideResult) => {
  const prev = best[side].get(r.model);
  if (!prev) return void best[side].set(r.model, r);
  // Best round for throughput; the profile of the first round; the larger peak RSS (a bound, not a best case).
  best[side].set(r.model, {
    ...(r.train_images_per_s > prev.train_images_per_s ? r : prev),
    best_train_images_per_s: Math.max(r.best_train_images_per_s, prev.best_train_images_per_s),
    eval_images_per_s: Math.max(r.eval_images_per_s, prev.eval_images_per_s),
    peak_rss_mb: Math.max(r.peak_rss_mb, prev.peak_rss_mb),
    profile: prev.profile ?? r.profile,
    kernel_ms: prev.kernel_ms ?? r.kernel_ms,
    profiled_step_ms: prev.profiled_step_ms ?? r.profiled_step_ms,
    dispatches: prev.dispatches ?? r.dispatches,
    cpu_share: prev.cpu_share ?? r.cpu_share,
    coverage: prev.coverage ?? r.coverage,
  });
};

/** Keeps one side's result (or counts its failure) and prints its line. */
function side(name: 'onednn' | 'torch', round: number, m: string, r: SideResult | { error: string }): void {
  const tag = `[round ${round + 1}] [${name}]`.padEnd(18);
  if ('error' in r) {
    failed++;
    console.log(`${tag} ${m}: FAILED ${r.error}`);
    return;
  }
  keep(name, r);
  console.log(`${tag} ${m}: train ${r.train_images_per_s.toFixed(1)} images/s, eval ${r.eval_images_per_s.toFixed(1)} images/s, peak RSS ${r.peak_rss_mb.toFixed(0)} MB`);
}

const loadAtStart = loadavg()[0]!;
console.log(`train-throughput: ${threads} threads, ${warmup} warm-up + ${steps} measured steps, ${rounds} round(s)${SHORT ? ' (short mode)' : ''}`);
for (let round = 0; round < rounds; round++) {
  for (const m of models) {
    const common = ['--model', m, '--batch', String(batchOf(m)), '--warmup', String(warmup), '--steps', String(steps), '--eval-batch', String(evalBatch), '--eval-steps', String(evalSteps), '--threads', String(threads)];
    side('onednn', round, m, runWorker(process.execPath, ['--import', 'tsx', '--conditions=@lm/source', join(here, 'train-step-worker.ts'), ...common, ...(round === 0 ? ['--profile', '--cpu-share', String(SHORT ? 1 : 3)] : [])]));
    if (py) side('torch', round, m, runWorker(py, [join(here, 'torch_models.py'), ...common]));
  }
}

/** The LM scheme's cost: lm-resnet20's step over preact-resnet20's, timed alternately in one process per side. */
interface PairResult { model: string; pair: string; pairs: number; step_ratio_median: number; step_ratios: number[] }
const lmOverPreact = new Map<'onednn' | 'pytorch', PairResult>();
if (models.includes('lm-resnet20') && models.includes('preact-resnet20')) {
  const pairSteps = SHORT ? 1 : Number(process.env.BENCH_PAIR_STEPS ?? 200);
  const args = ['--model', 'lm-resnet20', '--pair', 'preact-resnet20', '--batch', String(batchOf('lm-resnet20')), '--warmup', String(warmup), '--steps', String(pairSteps), '--threads', String(threads)];
  const sides: ['onednn' | 'pytorch', string, string[]][] = [['onednn', process.execPath, ['--import', 'tsx', '--conditions=@lm/source', join(here, 'train-step-worker.ts'), ...args]]];
  if (py) sides.push(['pytorch', py, [join(here, 'torch_models.py'), ...args]]);
  for (const [side, cmd, argv] of sides) {
    const r = runWorker(cmd, argv) as PairResult | { error: string };
    if ('error' in r) {
      failed++;
      console.log(`[paired] ${side} lm-resnet20 / preact-resnet20: FAILED ${r.error}`);
    } else {
      lmOverPreact.set(side, r);
      console.log(`[paired] ${side} lm-resnet20 / preact-resnet20 step: median ${r.step_ratio_median.toFixed(3)} over ${r.pairs} alternating pairs`);
    }
  }
}

/** Per model: the lockstep comparison of the two sides (see lockstep.ts); absent when it failed or was skipped. */
const lockstep = new Map<string, LockstepResult>();
if (py && lockstepPairs > 0) {
  for (const m of models) {
    const common = ['--serve', '--model', m, '--batch', String(batchOf(m)), '--warmup', String(warmup), '--eval-batch', String(evalBatch), '--threads', String(threads)];
    const env = { ...process.env, OMP_NUM_THREADS: String(threads) };
    try {
      const r = await runLockstep(m, {
        onednn: { cmd: process.execPath, args: ['--import', 'tsx', '--conditions=@lm/source', join(here, 'train-step-worker.ts'), ...common], env },
        pytorch: { cmd: py, args: [join(here, 'torch_models.py'), ...common], env },
      }, lockstepPlan);
      lockstep.set(m, r);
      const show = (k: LockstepResult['train']) => `${k.median.toFixed(3)} (${k.min.toFixed(3)}-${k.max.toFixed(3)}; ${k.onednn_median_ms.toFixed(0)} vs ${k.pytorch_median_ms.toFixed(0)} ms, CPU share ${k.onednn_cpu_share.toFixed(2)} vs ${k.pytorch_cpu_share.toFixed(2)})`;
      console.log(`[lockstep] ${m}: pytorch ms / onednn ms over ${r.train.pairs} pairs: train ${show(r.train)}, eval ${show(r.eval)}`);
    } catch (e) {
      failed++;
      console.log(`[lockstep] ${m}: FAILED ${(e as Error).message}`);
    }
  }
}

const ratio = (a?: number, b?: number) => (a !== undefined && b ? a / b : null);
const range = (k?: { min: number; max: number }) => (k ? `${k.min.toFixed(2)}-${k.max.toFixed(2)}` : null);
/** The median's 95% interval, or the range (marked) when there are too few pairs for one. */
const interval = (k?: LockstepResult['train']) => (!k ? null : k.ci95 ? `${k.ci95.lo.toFixed(2)}-${k.ci95.hi.toFixed(2)}` : `range ${range(k)}`);
/** Whether the pairs tell onednn apart from PyTorch: the median's 95% interval lies above or below 1. */
const verdict = (k: LockstepResult['train']) =>
  !k.ci95 ? 'too few pairs to tell' : { above: 'onednn faster', below: 'PyTorch faster', across: 'not distinguishable from 1' }[sideOfBound(k.ci95, 1)];
const rows: Cell[][] = models.map((m) => {
  const a = best.onednn.get(m), b = best.torch.get(m), l = lockstep.get(m);
  return [m, threads, batchOf(m),
    a?.train_images_per_s ?? null, b?.train_images_per_s ?? null, ratio(a?.train_images_per_s, b?.train_images_per_s),
    l ? `${l.train.pairs} / ${l.eval.pairs}` : null, l?.train.median ?? null, interval(l?.train),
    a?.eval_images_per_s ?? null, b?.eval_images_per_s ?? null, ratio(a?.eval_images_per_s, b?.eval_images_per_s),
    l?.eval.median ?? null, interval(l?.eval),
    a?.peak_rss_mb ?? null, b?.peak_rss_mb ?? null];
});
const first = best.onednn.get(models[0]!);
notes.push(`machine: ${availableParallelism()} cores shared with other jobs, so timings are noisy: images/s, ratios and peak RSS from separate processes, best of ${rounds} alternating round(s), mean over ${steps} steps after ${warmup} warm-up; evaluation: ${evalSteps} batches of ${evalBatch}`);
notes.push(py && lockstepPairs > 0
  ? `lockstep ratio: pytorch ms / onednn ms (> 1: onednn is faster), the median of the pairs in the table's 'lockstep pairs' column (per kind: at most ${lockstepPlan.max}, at least ${lockstepPlan.min}, no new pair after ${lockstepPlan.budgetS} s) of one step (one evaluation batch of ${evalBatch}) each, both sides alive at once and taking turns A B, B A, ... after ${warmup} warm-up step(s) and one evaluation batch; 95% CI: the distribution-free 95% confidence interval of that median (order statistics of the pair ratios, stats.ts medianInterval; 'range' where there are too few pairs for one)`
  : 'lockstep ratio: skipped (' + (py ? 'BENCH_LOCKSTEP_PAIRS=0' : 'no PyTorch') + ')');
for (const [m, l] of lockstep) {
  const shares = (k: LockstepResult['train']) => `${k.onednn_cpu_share.toFixed(2)} / ${k.pytorch_cpu_share.toFixed(2)}`;
  const leftover = (k: LockstepResult['train']) => `${k.onednn_after_cpu_ms?.toFixed(0) ?? '?'} / ${k.pytorch_after_cpu_ms?.toFixed(0) ?? '?'}`;
  // PyTorch's OpenMP threads keep every core busy through a step (~threads when it has them; onednn's share is lower
  // by its single-threaded JS), and they slow down far more than onednn's when another job takes a core (4x
  // against 1.7x here): PyTorch's share is the probe for contention.
  const contended = l.train.pytorch_cpu_share < 0.75 * threads;
  notes.push(`lockstep ${m}: median ms onednn / pytorch: train ${l.train.onednn_median_ms.toFixed(0)} / ${l.train.pytorch_median_ms.toFixed(0)}, eval ${l.eval.onednn_median_ms.toFixed(0)} / ${l.eval.pytorch_median_ms.toFixed(0)}; CPU share (CPU ms / wall ms, about ${threads} when a side had the cores) onednn / pytorch: train ${shares(l.train)}, eval ${shares(l.eval)}; ` +
    `CPU ms burnt after the reply until quiet (not in the timed command; the driver waits it out) onednn / pytorch: train ${leftover(l.train)}, eval ${leftover(l.eval)}` +
    (contended ? `; CONTENDED: PyTorch had less than ${(0.75 * threads).toFixed(1)} cores in a median training step, other jobs took the cores, so the ratio measures the contention more than the code` : ''));
}
if (lockstep.size) {
  notes.push('lockstep verdicts (95% CI of the median against 1): ' + [...lockstep].map(([m, l]) => `${m} train ${verdict(l.train)}, eval ${verdict(l.eval)}`).join('; '));
}
// Lockstep cancels the machine's drift, not other jobs competing for the cores: the sides suffer from those unequally.
notes.push(`load average (1 min) at the start ${loadAtStart.toFixed(2)}, at the end ${loadavg()[0]!.toFixed(2)} (${availableParallelism()} cores; well above ${threads} threads means other jobs competed for the cores)`);
notes.push('onednn: @lm/schemes models, @lm/trainer SGD (momentum 0.9, weight decay 5e-4), softmax cross-entropy and metrics as in `lm train`, evaluation as evaluate() of @lm/trainer runs it (each BatchNorm folded into the convolution before it); PyTorch: the same architectures (torch_models.py), torch.optim.SGD with the same settings, evaluation under no_grad; random CIFAR-shaped data, the same thread count');
if (SHORT) notes.push(shortNote);
const lmPre = ratio(best.onednn.get('preact-resnet20')?.mean_step_ms, best.onednn.get('lm-resnet20')?.mean_step_ms);
if (lmPre !== null) notes.push(`lm-resnet20 step / preact-resnet20 step on onednn, separate processes: ${(1 / lmPre).toFixed(3)} (target <= 1.05)`);
for (const [side, r] of lmOverPreact) {
  const ci = medianInterval(r.step_ratios);
  const verdict = !ci ? 'too few pairs to tell' : { above: 'more than 5%', below: 'within 5%', across: 'not distinguishable from 1.05' }[sideOfBound(ci, 1.05)];
  const spread = ci ? `95% CI ${ci.lo.toFixed(3)}-${ci.hi.toFixed(3)}` : `range ${r.step_ratios[0]!.toFixed(3)}-${r.step_ratios.at(-1)!.toFixed(3)}`;
  notes.push(`lm-resnet20 step / preact-resnet20 step on ${side}, alternating in one process: median ${r.step_ratio_median.toFixed(3)} over ${r.pairs} pairs (${spread}; ${verdict}${side === 'onednn' ? ', target <= 1.05' : ''})`);
}
if (first?.profile) {
  const outside = (first.profiled_step_ms ?? 0) - (first.kernel_ms ?? 0);
  notes.push(`one ${models[0]} step on onednn (tf.profile): ${first.kernel_ms!.toFixed(0)} ms in kernels of a ${first.profiled_step_ms!.toFixed(0)} ms step (${outside.toFixed(0)} ms outside kernels), ${first.dispatches} kernel dispatches; top kernels: ` +
    first.profile.slice(0, 12).map(([n, ms, c]) => `${n} ${ms.toFixed(1)} ms/${c}`).join(', '));
  console.log(`\nper-kernel profile of one ${models[0]} onednn step: ${first.kernel_ms!.toFixed(0)} ms in kernels, ${outside.toFixed(0)} ms outside, ${first.dispatches} dispatches`);
  for (const [n, ms, c] of first.profile.slice(0, 20)) console.log(`  ${ms.toFixed(1).padStart(8)} ms ${String(c).padStart(5)}x  ${n}`);
}
const share = first?.cpu_share;
if (share) {
  const kernelWall = share.kernels.reduce((t, k) => t + k.wallMs, 0), kernelCpu = share.kernels.reduce((t, k) => t + k.cpuMs, 0);
  const outsideWall = share.step_wall_ms - kernelWall, outsideCpu = share.step_cpu_ms - kernelCpu;
  const r = (cpu: number, wall: number) => (wall > 0 ? (cpu / wall).toFixed(2) : '-');
  // What the step loses to running on fewer than all threads: threads x wall - CPU, per kernel, largest first.
  const idle = (wall: number, cpu: number) => threads * wall - cpu;
  const byIdle = [...share.kernels].sort((x, y) => idle(y.wallMs, y.cpuMs) - idle(x.wallMs, x.cpuMs));
  notes.push(`CPU share of one ${models[0]} step on onednn (CPU ms of all threads / wall ms, mean of ${share.steps} steps, kernels wrapped): whole step ${r(share.step_cpu_ms, share.step_wall_ms)} ` +
    `(${share.step_wall_ms.toFixed(0)} ms), outside kernels ${r(outsideCpu, outsideWall)} (${outsideWall.toFixed(0)} ms); idle thread-ms per step (${threads} x wall - CPU) by kernel: ` +
    byIdle.slice(0, 8).map((k) => `${k.kernel} ${idle(k.wallMs, k.cpuMs).toFixed(1)} (share ${r(k.cpuMs, k.wallMs)})`).join(', ') +
    `; outside kernels ${idle(outsideWall, outsideCpu).toFixed(1)}`);
  console.log(`
CPU share of one ${models[0]} onednn step: ${r(share.step_cpu_ms, share.step_wall_ms)}; outside kernels ${outsideWall.toFixed(1)} ms at ${r(outsideCpu, outsideWall)}`);
  for (const k of share.kernels.slice(0, 16)) console.log(`  ${k.wallMs.toFixed(1).padStart(8)} ms  share ${r(k.cpuMs, k.wallMs)}  ${k.calls.toFixed(0).padStart(4)}x  ${k.kernel}`);
}
for (const m of models) {
  const c = best.onednn.get(m)?.coverage;
  if (!c) continue;
  const line = `native coverage, ${m} (one training step + evaluation): ${c.native} native kernel runs, ${c.views} zero-copy views, fallbacks: ${c.fallbacks.length ? c.fallbacks.join('; ') : 'none'}`;
  notes.push(line);
  console.log(line);
}
writeBenchResult({
  name: 'train-throughput',
  title: 'Training and evaluation throughput, CIFAR shapes (images/s), peak RSS of the training run (MB)',
  columns: ['model', 'threads', 'batch', 'onednn train', 'pytorch train', 'train ratio', 'lockstep pairs (train / eval)', 'lockstep train ratio', 'lockstep train 95% CI',
    'onednn eval', 'pytorch eval', 'eval ratio', 'lockstep eval ratio', 'lockstep eval 95% CI', 'onednn peak RSS', 'pytorch peak RSS'],
  rows,
  notes,
  extra: { onednn: Object.fromEntries(best.onednn), pytorch: py ? Object.fromEntries(best.torch) : null, lm_over_preact: Object.fromEntries(lmOverPreact), lockstep: Object.fromEntries(lockstep) },
});
if (failed) {
  console.error(`train-throughput: ${failed} run(s) failed`);
  process.exit(1);
}
