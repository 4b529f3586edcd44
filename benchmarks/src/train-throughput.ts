/**
 * train-throughput: ResNet-20 and LM-ResNet-20 training at batch 128 on CIFAR shapes (random data) on the
 * `onednn` TensorFlow.js backend, and the same architectures in PyTorch (when python3 can import torch) with the
 * same thread count. Prints images/s for each and the ratio, a per-kernel profile of one onednn step, and writes
 * results/train-throughput.{json,md}.
 *
 * The machine is shared, so both sides are measured in alternating rounds (onednn, then PyTorch) and each
 * keeps its best round (highest mean images/s over the measured steps); the best single steps are reported too.
 *
 * Env: BENCH_THREADS (default OMP_NUM_THREADS or the number of cores), BENCH_STEPS (10), BENCH_WARMUP (3),
 * BENCH_BATCH (128), BENCH_ROUNDS (2), BENCH_MODELS (resnet20,lm-resnet20), PYTHON (interpreter to try first).
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { type Cell, writeBenchResult } from './report';

const threads = Number(process.env.BENCH_THREADS ?? process.env.OMP_NUM_THREADS ?? availableParallelism());
// Fixed before the addon (libgomp) loads, and for the PyTorch child process.
process.env.OMP_NUM_THREADS = String(threads);
const steps = Number(process.env.BENCH_STEPS ?? 10);
const warmup = Number(process.env.BENCH_WARMUP ?? 3);
const batch = Number(process.env.BENCH_BATCH ?? 128);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const models = (process.env.BENCH_MODELS ?? 'resnet20,lm-resnet20').split(',');
const here = dirname(fileURLToPath(import.meta.url));

const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-layers'); // registers the gradients of tfjs-core
const onednn = await import('@lm/backend-onednn');

type LayersModel = import('@tensorflow/tfjs-layers').LayersModel;
const notes: string[] = [];

async function buildModel(name: string): Promise<{ model: LayersModel; source: string }> {
  const { createModel } = await import('@lm/schemes');
  return { model: createModel(name, { numClasses: 10, inputShape: [32, 32, 3] }), source: '@lm/schemes createModel' };
}

interface TfResult { images_per_s: number; best_images_per_s: number; mean_step_ms: number; best_step_ms: number; source: string; profile: Array<[string, number, number]> }

async function measureTf(name: string, withProfile: boolean): Promise<TfResult> {
  await tf.setBackend('onednn');
  const { model, source } = await buildModel(name);
  const opt = tf.train.momentum(0.01, 0.9);
  const xs = tf.randomNormal([batch, 32, 32, 3]);
  const labels = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32') as import('@tensorflow/tfjs-core').Tensor1D, 10);
  const step = () => {
    const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(labels, model.apply(xs, { training: true }) as import('@tensorflow/tfjs-core').Tensor) as import('@tensorflow/tfjs-core').Scalar, true);
    loss!.dataSync();
    loss!.dispose();
  };
  const times: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    step();
    const t = performance.now() - t0;
    if (i >= warmup) times.push(t);
  }
  // Per-kernel profile of one more step.
  const info = withProfile
    ? await tf.profile(() => {
        step();
        return [] as import('@tensorflow/tfjs-core').Tensor[];
      })
    : { kernels: [] };
  const byKernel = new Map<string, [number, number]>();
  for (const k of info.kernels) {
    const ms = Number(await (k.kernelTimeMs as unknown as Promise<number> | number));
    const cur = byKernel.get(k.name) ?? [0, 0];
    byKernel.set(k.name, [cur[0] + ms, cur[1] + 1]);
  }
  // `fusedConv2d__op` & co. are tf.customGrad wrappers whose time includes the kernel they run: left out.
  const profile = [...byKernel.entries()]
    .filter(([n]) => !n.endsWith('__op'))
    .map(([n, [ms, c]]) => [n, ms, c] as [string, number, number])
    .sort((a, b) => b[1] - a[1]);
  tf.dispose([xs, labels]);
  opt.dispose();
  model.dispose();
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const best = Math.min(...times);
  return { images_per_s: (batch * 1000) / mean, best_images_per_s: (batch * 1000) / best, mean_step_ms: mean, best_step_ms: best, source, profile };
}

interface TorchResult { images_per_s: number; best_images_per_s: number; mean_step_s: number; torch: string }

function findPython(): string | undefined {
  for (const py of [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean) as string[]) {
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return undefined;
}

let torchSkipNoted = false;
function measureTorch(py: string | undefined): Map<string, TorchResult> {
  const out = new Map<string, TorchResult>();
  if (!py) {
    if (!torchSkipNoted) notes.push('PyTorch: skipped (no python3 that can `import torch`; install python3-torch)');
    torchSkipNoted = true;
    return out;
  }
  const r = spawnSync(py, [join(here, 'torch_resnet20.py'), '--threads', String(threads), '--batch', String(batch), '--warmup', String(warmup), '--steps', String(steps), '--models', models.join(',')], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: String(threads) },
  });
  if (r.status !== 0) {
    notes.push(`PyTorch: failed (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-1)[0]}`);
    return out;
  }
  for (const line of r.stdout.trim().split('\n')) {
    const j = JSON.parse(line) as TorchResult & { model: string };
    out.set(j.model, j);
  }
  return out;
}

if (!onednn.isOnednnAvailable()) {
  console.error(onednn.onednnLoadError()?.message);
  process.exit(1);
}
const info = onednn.onednnInfo();
console.log(`onednn ${info.version} (${info.isa}), ${threads} threads; batch ${batch}, ${warmup} warm-up + ${steps} measured steps`);

const tfResults = new Map<string, TfResult>();
const torchResults = new Map<string, TorchResult>();
const py = findPython();
for (let round = 0; round < rounds; round++) {
  for (const m of models) {
    const r = await measureTf(m, round === 0);
    const prev = tfResults.get(m);
    console.log(`[round ${round + 1}] [onednn] ${m}: ${r.images_per_s.toFixed(1)} images/s (best step ${r.best_images_per_s.toFixed(1)}), model from ${r.source}`);
    if (!prev) tfResults.set(m, r);
    else if (r.images_per_s > prev.images_per_s) tfResults.set(m, { ...r, profile: prev.profile, best_images_per_s: Math.max(r.best_images_per_s, prev.best_images_per_s) });
    else prev.best_images_per_s = Math.max(r.best_images_per_s, prev.best_images_per_s);
  }
  if (round > 0 && !py) continue;
  for (const [m, r] of measureTorch(py)) {
    console.log(`[round ${round + 1}] [torch]  ${m}: ${r.images_per_s.toFixed(1)} images/s (best step ${r.best_images_per_s.toFixed(1)})`);
    const prev = torchResults.get(m);
    if (!prev) torchResults.set(m, r);
    else if (r.images_per_s > prev.images_per_s) torchResults.set(m, { ...r, best_images_per_s: Math.max(r.best_images_per_s, prev.best_images_per_s) });
    else prev.best_images_per_s = Math.max(r.best_images_per_s, prev.best_images_per_s);
  }
}

const rows: Cell[][] = models.map((m) => {
  const a = tfResults.get(m)!;
  const b = torchResults.get(m);
  return [m, threads, batch, a.images_per_s, b ? b.images_per_s : null, b ? a.images_per_s / b.images_per_s : null, a.best_images_per_s, b ? b.best_images_per_s : null, b ? a.best_images_per_s / b.best_images_per_s : null];
});
const profile = tfResults.get(models[0])!.profile;
const totalMs = profile.reduce((s, p) => s + p[1], 0);
notes.push(`machine: ${availableParallelism()} cores shared with other jobs, so timings are noisy: best of ${rounds} alternating rounds (mean over ${steps} steps after ${warmup} warm-up), best single steps beside`);
notes.push('both sides: the same architectures (resnet20: post-activation, option-A shortcuts; lm-resnet20: pre-activation, BN-ReLU-conv1x1 shortcuts, 6 LM steps), SGD momentum 0.9, softmax cross-entropy, random CIFAR-shaped data, same thread count');
notes.push(`per-kernel profile of one ${models[0]} step on onednn (tf.profile; ${totalMs.toFixed(0)} ms in kernels, step ${tfResults.get(models[0])!.mean_step_ms.toFixed(0)} ms): ` +
  profile.slice(0, 12).map(([n, ms, c]) => `${n} ${ms.toFixed(1)} ms/${c} calls`).join(', '));
console.log(`\nper-kernel profile of one ${models[0]} onednn step (total ${totalMs.toFixed(0)} ms in kernels):`);
for (const [n, ms, c] of profile.slice(0, 15)) console.log(`  ${ms.toFixed(1).padStart(8)} ms ${String(c).padStart(4)}x  ${n}`);
writeBenchResult({
  name: 'train-throughput',
  title: 'Training throughput, batch 128, CIFAR shapes (images/s)',
  columns: ['model', 'threads', 'batch', 'onednn images/s', 'pytorch images/s', 'ratio onednn/pytorch', 'onednn best-step images/s', 'pytorch best-step images/s', 'best-step ratio'],
  rows,
  notes,
  extra: {
    onednn: { ...info, results: Object.fromEntries(tfResults) },
    pytorch: py ? Object.fromEntries(torchResults) : null,
    profileTop: profile.slice(0, 20).map(([name, ms, calls]) => ({ name, ms, calls })),
  },
});
