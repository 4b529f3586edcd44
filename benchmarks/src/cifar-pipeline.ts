/**
 * Throughput of the @lm/data-cifar input pipeline alone on the real CIFAR-10 training archive
 * (`../shared/datasets/cifar10/cifar-10-train-binary.tar.gz`, or $LM_SHARED_DIR): archive load time and
 * images/s of whole epochs at batch 128 (seeded shuffle + pad-4 random crop + random flip + normalisation,
 * tensors created and disposed), next to the training throughput of @lm/backend-onednn when
 * `results/train-throughput.json` exists.
 *
 * Run: npm run cifar-pipeline -w @lm/benchmarks
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type ArraySplit, type BatchOptions, type CifarSplit, loadCifar } from '@lm/data-cifar';
import { type Cell, median, resultsDir, sharedDir, writeBenchResult } from './report';
import { SHORT, shortNote } from './short';

const BATCH = 128;
const EPOCHS = SHORT ? 1 : Number(process.env.CIFAR_BENCH_EPOCHS ?? 3);
const archive = join(sharedDir(), 'datasets', 'cifar10', 'cifar-10-train-binary.tar.gz');
const columns = ['measure', 'images', 'seconds', 'images/s'];
const notes: string[] = SHORT ? [shortNote] : [];

/** The backend tensors are created on: onednn when it loads (what the trainer uses), else the JS cpu backend. */
async function pickBackend(): Promise<string> {
  const want = process.env.CIFAR_BENCH_BACKEND;
  if (want !== 'cpu') {
    try {
      const m = (await import('@lm/backend-onednn')) as { onednnLoadError?: () => Error | undefined };
      if (tf.findBackendFactory('onednn') && (await tf.setBackend('onednn'))) return 'onednn';
      const why = typeof m.onednnLoadError === 'function' ? m.onednnLoadError()?.message.split('\n')[0] : undefined;
      notes.push(`@lm/backend-onednn imported but the onednn backend did not initialise${why ? ` (${why})` : ''}; tensors on cpu`);
    } catch (e) {
      notes.push(`@lm/backend-onednn not loadable (${(e as Error).message.split('\n')[0]}); tensors on cpu`);
    }
  }
  await import('@tensorflow/tfjs-backend-cpu');
  tf.env().set('IS_TEST', true); // no "install tfjs-node" banner
  await tf.setBackend('cpu');
  return 'cpu';
}

/** Images and seconds of one epoch through the tensor API (tensors created and disposed). */
async function epochRate(split: CifarSplit, opts: BatchOptions): Promise<{ images: number; seconds: number }> {
  const t0 = performance.now();
  let images = 0;
  for await (const b of split.batches(opts)) {
    images += b.labels.length;
    b.xs.dispose();
    b.ys.dispose();
  }
  return { images, seconds: (performance.now() - t0) / 1000 };
}

/** Training images/s of @lm/backend-onednn from results/train-throughput.json, if that benchmark has run. */
function trainingThroughput(): { label: string; value: number } | undefined {
  const f = join(resultsDir, 'train-throughput.json');
  if (!existsSync(f)) return undefined;
  try {
    const j = JSON.parse(readFileSync(f, 'utf8')) as { columns?: string[]; rows?: Cell[][] };
    const col = (j.columns ?? []).findIndex((c) => /^onednn (train|images\/s)$/i.test(c));
    if (col < 0 || !j.rows) return undefined;
    let best: { label: string; value: number } | undefined;
    for (const r of j.rows) {
      const v = r[col];
      if (typeof v === 'number' && (!best || v > best.value)) best = { label: String(r[0]), value: v };
    }
    return best;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  if (!existsSync(archive)) {
    const msg = `skipped: ${archive} is absent (set LM_SHARED_DIR to the folder holding datasets/cifar10)`;
    console.warn(`[cifar-pipeline] ${msg}`);
    writeBenchResult({
      name: 'cifar-pipeline',
      title: 'CIFAR-10 input pipeline throughput (@lm/data-cifar)',
      columns,
      rows: [['load archive', null, null, null], [`augmented epoch, batch ${BATCH}, tensors`, null, null, null]],
      notes: [msg],
      extra: { skipped: true, archive },
    });
    return;
  }
  const backend = await pickBackend();
  const rows: Cell[][] = [];

  const t0 = performance.now();
  const ds = await loadCifar({ path: archive, validationSize: 0, quiet: true });
  const loadS = (performance.now() - t0) / 1000;
  const n = ds.train.size;
  rows.push(['load archive (gunzip + tar + parse to HWC + mean/std)', n, loadS, n / loadS]);

  const runs = async (label: string, opts: Omit<BatchOptions, 'epoch'>) => {
    const rates: number[] = [];
    let last = { images: 0, seconds: 0 };
    for (let e = 0; e < EPOCHS; e++) {
      last = await epochRate(ds.train, { ...opts, epoch: e });
      rates.push(last.images / last.seconds);
    }
    const m = median(rates);
    rows.push([label, last.images, last.images / m, m]);
    return rates;
  };
  // Warm-up (JIT) on a few batches.
  let w = 0;
  for await (const b of ds.train.batches({ batchSize: BATCH, shuffle: true, augment: true, seed: 99 })) {
    b.xs.dispose();
    b.ys.dispose();
    if (++w === 20) break;
  }
  const aug = await runs(`augmented epoch (shuffle + pad-4 crop + flip + normalise), batch ${BATCH}, tensors`, {
    batchSize: BATCH,
    shuffle: true,
    augment: true,
    seed: 1,
  });
  await runs(`same, prefetch off`, { batchSize: BATCH, shuffle: true, augment: true, seed: 1, prefetch: false });
  await runs(`unaugmented view (test/validation), batch ${BATCH}, tensors`, { batchSize: BATCH });

  // Host-only: the Float32Array assembly without tensor creation.
  {
    const split = ds.train as ArraySplit;
    const rates: number[] = [];
    for (let e = 0; e < EPOCHS; e++) {
      const t = performance.now();
      const plan = split.plan({ batchSize: BATCH, shuffle: true, augment: true, seed: 1, epoch: e });
      for (let i = 0; i < plan.numBatches; i++) split.hostBatch(plan, i);
      rates.push(n / ((performance.now() - t) / 1000));
    }
    const m = median(rates);
    rows.push([`augmented epoch, host arrays only (no tensors)`, n, n / m, m]);
  }

  const train = trainingThroughput();
  rows.push([
    train ? `training throughput @lm/backend-onednn (${train.label}; from train-throughput.json)` : 'training throughput @lm/backend-onednn',
    null,
    null,
    train ? train.value : null,
  ]);
  if (train) notes.push(`pipeline / training throughput ratio: ${(median(aug) / train.value).toFixed(1)}x`);
  else notes.push('training throughput: results/train-throughput.json not present yet (run `npm run train-throughput -w @lm/benchmarks`)');
  notes.push(
    `archive ${archive} (${(statSync(archive).size / 1e6).toFixed(1)} MB), ${n} records, no test batch`,
    `tensors created on backend: ${backend}; images/s = median of ${EPOCHS} epochs; single thread (${cpus().length} cores on the machine)`,
    `rss after the run: ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB; load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} at the end (the machine is shared: figures are noisy)`,
  );
  writeBenchResult({
    name: 'cifar-pipeline',
    title: 'CIFAR-10 input pipeline throughput (@lm/data-cifar)',
    columns,
    rows,
    notes,
    extra: { archive, batchSize: BATCH, epochs: EPOCHS, backend, augmentedRates: aug, mean: ds.mean, std: ds.std },
  });
}

await main();
