/**
 * layout-ab: the `onednn` backend's blocked activations (nChw8c / nChw16c) against NHWC, step by step in one
 * process: each pair times one step in each layout (setBlockedActivations), A B, B A, ..., so both see the
 * same load; the ratio is blocked ms / NHWC ms (< 1: blocked is faster). Training is the trainer's step
 * (`lm train`'s SGD, loss and metrics); evaluation is evaluate()'s batch on the BN-folded model, where
 * convolutions stay NHWC by design (the ratio then shows the noise floor).
 *
 * Env: BENCH_MODELS (resnet20,lm-resnet20,resnet56,lm-resnext29-8x64d), BENCH_PAIRS (10), BENCH_WARMUP (2),
 * BENCH_THREADS (OMP_NUM_THREADS or the cores); batch 128 (32 for lm-resnext29-8x64d), evaluation batch 100;
 * LM_BENCH_SHORT=1: resnet20 at batch 4, 1 pair, 1 warm-up.
 */
import { availableParallelism } from 'node:os';

import { type Cell, writeBenchResult } from './report';
import { SHORT, shortNote } from './short';
import { firstOfPair, pairedRatios, type PairedRatios } from './stats';

const threads = Number(process.env.BENCH_THREADS ?? process.env.OMP_NUM_THREADS ?? availableParallelism());
process.env.OMP_NUM_THREADS = String(threads);
const models = SHORT ? ['resnet20'] : (process.env.BENCH_MODELS ?? 'resnet20,lm-resnet20,resnet56,lm-resnext29-8x64d').split(',');
const pairs = SHORT ? 1 : Number(process.env.BENCH_PAIRS ?? 10);
const warmup = SHORT ? 1 : Number(process.env.BENCH_WARMUP ?? 2);
const batchOf = (m: string) => (SHORT ? 4 : m.startsWith('lm-resnext') ? 32 : 128);
const evalBatch = SHORT ? 4 : 100;

const tf = await import('@tensorflow/tfjs-core');
const onednn = await import('@lm/backend-onednn');
const { foldBatchNorm } = await import('@lm/core-blocks');
const { trainerStep } = await import('./trainer-step');
if (!onednn.isOnednnAvailable()) throw onednn.onednnLoadError();
await tf.setBackend('onednn');
const block = onednn.activationBlock();
if (block === 0) {
  const why = process.env.LM_ONEDNN_BLOCKED === '0' || process.env.LM_ONEDNN_BLOCKED === 'false' ? 'LM_ONEDNN_BLOCKED turns them off' : "oneDNN's convolution prefers no channel block on this machine";
  // results/ keeps the last measurement
  console.log(`[layout-ab] skipped: blocked activations are off (${why}), so there is nothing to compare`);
  process.exit(0);
}

/** Times `run` in each layout, pair by pair, after `warmup` untimed pairs; ratios are blocked / NHWC. */
function compare(run: () => void): PairedRatios {
  const timed = (blocked: boolean) => {
    onednn.setBlockedActivations(blocked);
    const t0 = performance.now();
    run();
    return performance.now() - t0;
  };
  for (let i = 0; i < warmup; i++) timed(true), timed(false);
  const on: number[] = [], off: number[] = [];
  for (let i = 0; i < pairs; i++)
    for (const blocked of firstOfPair(i, true, false)) (blocked ? on : off).push(timed(blocked));
  onednn.setBlockedActivations(undefined);
  return pairedRatios(on, off);
}

const ci = (r: PairedRatios): Cell => (r.ci95 ? `${r.ci95.lo.toFixed(3)}-${r.ci95.hi.toFixed(3)}` : `range ${r.min.toFixed(3)}-${r.max.toFixed(3)}`);
const rows: Cell[][] = [];
for (const name of models) {
  const { model, step } = trainerStep(name, batchOf(name));
  const train = compare(step);
  const x = tf.randomNormal([evalBatch, 32, 32, 3]);
  const folded = foldBatchNorm(model);
  const evaluate = compare(() => void tf.tidy(() => (folded.model.apply(x, { training: false }) as import('@tensorflow/tfjs-core').Tensor).dataSync()));
  console.log(`[layout-ab] ${name}: blocked / nhwc ms, train ${train.median.toFixed(3)} (${ci(train)}), eval ${evaluate.median.toFixed(3)} (${ci(evaluate)})`);
  rows.push([name, batchOf(name), train.median, ci(train), evaluate.median, ci(evaluate)]);
  tf.dispose(x);
  model.dispose();
}

writeBenchResult({
  name: 'layout-ab',
  title: `onednn blocked activations (block ${block}) against NHWC: blocked ms / NHWC ms, median of ${pairs} alternating pair(s)`,
  columns: ['model', 'batch', 'train step', 'train 95% CI', 'evaluation batch', 'evaluation 95% CI'],
  rows,
  notes: [
    ...(SHORT ? [shortNote] : []),
    `${threads} threads; one process, each pair one step in each layout (A B, B A, ...) after ${warmup} warm-up pair(s); < 1: blocked is faster`,
    "evaluation: the trainer's evaluate() batch on the BN-folded model; convolutions stay NHWC in forward-only passes, so this ratio shows the noise",
    '95% CI: the distribution-free interval of the median (stats.ts medianInterval); range where there are too few pairs',
  ],
});
