/**
 * One model on the `onednn` backend, in its own process (so its peak RSS is its own): training steps as `lm
 * train` runs them (the trainer's model builder, loss, SGD with weight decay and metrics, in its loop's order),
 * then evaluation. Prints one JSON line (see SideResult in train-throughput.ts).
 * With --pair M2 it instead times the steps of --model and of M2 alternately in this one process (A B B A ...)
 * and prints the median ratio of their step times: the machine's drift then hits both alike.
 * With --serve it sets the model up, runs the warm-up (training steps, then one evaluation batch) and then serves
 * `train` (one training step) and `eval` (one evaluation batch) commands on stdin (serve-loop.ts, lockstep.ts).
 * With --cpu-share N it also runs N more steps with every kernel wrapped (cpu-share.ts) and reports each kernel's wall
 * and CPU time: a CPU share near 1 on 2 cores marks a kernel that runs on one thread.
 * usage: train-step-worker.ts --model resnet20 --batch 128 --warmup 2 --steps 8 --eval-batch 100 --eval-steps 5 [--profile] [--cpu-share 4 [--by-shape]]
 *        train-step-worker.ts --model lm-resnet20 --pair preact-resnet20 --batch 128 --warmup 2 --steps 8
 *        train-step-worker.ts --serve --model resnet20 --batch 128 --warmup 2 --eval-batch 100
 */
import { parseArgs } from 'node:util';

import { reserveStdoutForProtocol, serveCommands } from './serve-loop';
import { median } from './stats';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string' }, batch: { type: 'string' }, warmup: { type: 'string' }, steps: { type: 'string' },
    'eval-batch': { type: 'string' }, 'eval-steps': { type: 'string' }, threads: { type: 'string' }, profile: { type: 'boolean' }, pair: { type: 'string' },
    'cpu-share': { type: 'string' }, 'by-shape': { type: 'boolean' }, serve: { type: 'boolean' },
  },
});
if (a.serve) reserveStdoutForProtocol();
if (a.threads) process.env.OMP_NUM_THREADS = a.threads;
const modelName = a.model ?? 'resnet20';
const batch = Number(a.batch ?? 128), warmup = Number(a.warmup ?? 2), steps = Number(a.steps ?? 8);
const evalBatch = Number(a['eval-batch'] ?? 100), evalSteps = Number(a['eval-steps'] ?? 5);

const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-layers');
const onednn = await import('@lm/backend-onednn');
const { foldBatchNorm } = await import('@lm/core-blocks');
type Tensor = import('@tensorflow/tfjs-core').Tensor;
type KernelShare = import('./cpu-share').KernelShare;

if (!onednn.isOnednnAvailable()) throw onednn.onednnLoadError();
await tf.setBackend('onednn');

const { trainerStep } = await import('./trainer-step');
const setup = (name: string) => trainerStep(name, batch);

if (a.pair) {
  const first = setup(modelName), second = setup(a.pair);
  for (let i = 0; i < warmup; i++) first.step(), second.step();
  const time = (f: () => void) => {
    const t0 = performance.now();
    f();
    return performance.now() - t0;
  };
  const ratios: number[] = [];
  for (let i = 0; i < steps; i++) {
    let ta: number, tb: number;
    if (i % 2 === 0) {
      ta = time(first.step);
      tb = time(second.step);
    } else {
      tb = time(second.step);
      ta = time(first.step);
    }
    ratios.push(ta / tb);
  }
  ratios.sort((x, y) => x - y);
  console.log(JSON.stringify({ model: modelName, pair: a.pair, batch, pairs: ratios.length, step_ratio_median: median(ratios), step_ratios: ratios }));
  process.exit(0);
}

const { model, step: trainStep } = setup(modelName);
/**
 * One evaluation batch as the trainer's evaluate() runs it: on the model with its BatchNorms folded into the
 * convolutions, folded once per evaluation pass (here: when first asked for, after the training steps, so it is
 * not part of the training run's peak RSS).
 */
const evaluation = () => {
  const evalX = tf.randomNormal([evalBatch, 32, 32, 3]);
  const folded = foldBatchNorm(model);
  return () => void tf.tidy(() => (folded.model.apply(evalX, { training: false }) as Tensor).dataSync());
};

if (a.serve) {
  for (let i = 0; i < warmup; i++) trainStep();
  const evalOnce = evaluation();
  evalOnce();
  await serveCommands({ train: trainStep, eval: evalOnce }, { side: 'onednn', model: modelName, batch, eval_batch: evalBatch });
  process.exit(0);
}

const times: number[] = [];
for (let i = 0; i < warmup + steps; i++) {
  const t0 = performance.now();
  trainStep();
  if (i >= warmup) times.push(performance.now() - t0);
}
const peakRssMb = process.resourceUsage().maxRSS / 1024;

let cpuShare: { steps: number; step_wall_ms: number; step_cpu_ms: number; kernels: KernelShare[] } | undefined;
if (a['cpu-share']) {
  const n = Number(a['cpu-share']);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--cpu-share must be a whole number of steps >= 1, got '${a['cpu-share']}'`);
  const { instrumentKernels } = await import('./cpu-share');
  const instrument = instrumentKernels('onednn', a['by-shape'] === true);
  const r = instrument.measure(() => {
    for (let i = 0; i < n; i++) trainStep();
  });
  instrument.restore();
  const per = (k: KernelShare) => ({ ...k, wallMs: k.wallMs / n, cpuMs: k.cpuMs / n, calls: k.calls / n });
  cpuShare = { steps: n, step_wall_ms: r.totalWallMs / n, step_cpu_ms: r.totalCpuMs / n, kernels: r.kernels.map(per) };
}

let profile: Array<[string, number, number]> | undefined, kernelMs: number | undefined, profiledMs: number | undefined, dispatches: number | undefined;
onednn.resetNativeCoverage();
if (a.profile) {
  const t0 = performance.now();
  const info = await tf.profile(() => {
    trainStep();
    return [] as Tensor[];
  });
  profiledMs = performance.now() - t0;
  const byKernel = new Map<string, [number, number]>();
  // `fusedConv2d__op` & co. are tf.customGrad wrappers whose time includes the kernel they run: left out.
  const kernels = info.kernels.filter((k) => !k.name.endsWith('__op'));
  for (const k of kernels) {
    const ms = Number(await (k.kernelTimeMs as unknown as Promise<number> | number));
    const cur = byKernel.get(k.name) ?? [0, 0];
    byKernel.set(k.name, [cur[0] + ms, cur[1] + 1]);
  }
  profile = [...byKernel.entries()].map(([n, [ms, c]]) => [n, ms, c] as [string, number, number]).sort((x, y) => y[1] - x[1]);
  kernelMs = profile.reduce((s, p) => s + p[1], 0);
  dispatches = kernels.length;
} else {
  trainStep();
}

const evalOnce = evaluation();
evalOnce();
const te = performance.now();
for (let i = 0; i < evalSteps; i++) evalOnce();
const evalMs = (performance.now() - te) / evalSteps;

const cov = onednn.nativeCoverage();
const mean = times.reduce((s, t) => s + t, 0) / times.length;
console.log(JSON.stringify({
  model: modelName,
  batch,
  train_images_per_s: (batch * 1000) / mean,
  best_train_images_per_s: (batch * 1000) / Math.min(...times),
  mean_step_ms: mean,
  eval_images_per_s: (evalBatch * 1000) / evalMs,
  peak_rss_mb: peakRssMb,
  profile,
  kernel_ms: kernelMs,
  profiled_step_ms: profiledMs,
  dispatches,
  cpu_share: cpuShare,
  coverage: {
    native: Object.values(cov).reduce((s, c) => s + c.native, 0),
    views: Object.values(cov).reduce((s, c) => s + c.views, 0),
    fallbacks: onednn.describeFallbacks(cov),
  },
}));
