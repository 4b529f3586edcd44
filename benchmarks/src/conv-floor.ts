/**
 * conv-floor: ResNet-20's convolutions (CIFAR shapes, training batch) through the `onednn` backend's kernels
 * (Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter as tfjs dispatches them) against the same oneDNN primitives
 * called directly from C++ (native/conv-floor.cc: nhwc data, weights reordered from HWIO each call, as the backend
 * does), and against oneDNN's blocked layouts without reorders (what NHWC costs). Rounds alternate the three and
 * keep each one's fastest call, so the gap between kernel and floor is measured under the same load.
 * Per-step totals weight each shape by its count in ResNet-20 (1 stem, 6, 1, 5, 1, 5 convolutions).
 *
 * Env: BENCH_BATCH (128), BENCH_REPS (5 calls per round), BENCH_ROUNDS (3), BENCH_THREADS (OMP_NUM_THREADS or
 * the cores); LM_BENCH_SHORT=1: batch 4, 1 call, 1 round. Needs a C++ compiler and oneDNN's headers (as the addon
 * build does); without them the floor columns are skipped and the reason noted.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { type Cell, writeBenchResult } from './report';
import { SHORT, shortNote } from './short';

const threads = Number(process.env.BENCH_THREADS ?? process.env.OMP_NUM_THREADS ?? availableParallelism());
process.env.OMP_NUM_THREADS = String(threads);
const batch = SHORT ? 4 : Number(process.env.BENCH_BATCH ?? 128);
const reps = SHORT ? 1 : Number(process.env.BENCH_REPS ?? 5);
const rounds = SHORT ? 1 : Number(process.env.BENCH_ROUNDS ?? 3);

const tf = await import('@tensorflow/tfjs-core');
const onednn = await import('@lm/backend-onednn');
if (!onednn.isOnednnAvailable()) throw onednn.onednnLoadError();
await tf.setBackend('onednn');

type Dir = 'forward' | 'backprop_input' | 'backprop_filter';
const DIRS: Dir[] = ['forward', 'backprop_input', 'backprop_filter'];
/** [in channels, size, out channels, stride, count in ResNet-20] */
const SHAPES: Array<[number, number, number, number, number]> = [[3, 32, 16, 1, 1], [16, 32, 16, 1, 6], [16, 32, 32, 2, 1], [32, 16, 32, 1, 5], [32, 16, 64, 2, 1], [64, 8, 64, 1, 5]];
const keyOf = (c: number, h: number, oc: number, s: number) => `${c}x${h}->${oc}/s${s}`;
type Times = Map<string, Record<Dir, number>>;
const better = (into: Times, k: string, t: Record<Dir, number>) => {
  const cur = into.get(k);
  into.set(k, cur ? { forward: Math.min(cur.forward, t.forward), backprop_input: Math.min(cur.backprop_input, t.backprop_input), backprop_filter: Math.min(cur.backprop_filter, t.backprop_filter) } : t);
};

const notes: string[] = [];
const dir = mkdtempSync(join(tmpdir(), 'conv-floor-'));
const exe = join(dir, 'conv-floor');
const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'native', 'conv-floor.cc');
const cc = spawnSync(process.env.CXX ?? 'g++', ['-O2', '-std=c++17', src, '-ldnnl', '-o', exe], { encoding: 'utf8' });
const haveFloor = cc.status === 0;
if (!haveFloor) notes.push(`C++ floor skipped: compiling ${src} failed (${(cc.stderr || cc.error?.message || '').trim().split('\n')[0]}); install g++ and libdnnl-dev`);

function floor(layout: 'nhwc' | 'blocked', into: Times): void {
  const r = spawnSync(exe, [String(batch), String(reps), layout], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) } });
  if (r.status !== 0) throw new Error(`conv-floor ${layout} failed: ${r.stderr}`);
  for (const line of r.stdout.trim().split('\n')) {
    const j = JSON.parse(line) as { c: number; h: number; oc: number; stride: number } & Record<Dir, number>;
    better(into, keyOf(j.c, j.h, j.oc, j.stride), j);
  }
}

/** The fastest of `reps` calls (after one untimed call) of `run`, whose output is disposed each time. */
function bestOf(run: () => import('@tensorflow/tfjs-core').Tensor): number {
  run().dispose();
  let b = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const y = run();
    y.dataSync();
    b = Math.min(b, performance.now() - t0);
    y.dispose();
  }
  return b;
}

function kernels(into: Times): void {
  for (const [c, h, oc, s] of SHAPES) {
    const oh = Math.ceil(h / s);
    const x = tf.randomNormal([batch, h, h, c]) as import('@tensorflow/tfjs-core').Tensor4D;
    const f = tf.randomNormal([3, 3, c, oc]) as import('@tensorflow/tfjs-core').Tensor4D;
    const dy = tf.randomNormal([batch, oh, oh, oc]);
    const attrs = { strides: [s, s], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined };
    better(into, keyOf(c, h, oc, s), {
      forward: bestOf(() => tf.conv2d(x, f, s, 'same')),
      backprop_input: bestOf(() => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, { ...attrs, inputShape: x.shape } as never) as import('@tensorflow/tfjs-core').Tensor),
      backprop_filter: bestOf(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: f.shape } as never) as import('@tensorflow/tfjs-core').Tensor),
    });
    tf.dispose([x, f, dy]);
  }
}

const floorNhwc: Times = new Map(), floorBlocked: Times = new Map(), kernel: Times = new Map();
onednn.resetNativeCoverage();
try {
  for (let r = 0; r < rounds; r++) {
    if (haveFloor) floor('nhwc', floorNhwc);
    kernels(kernel);
    if (haveFloor) floor('blocked', floorBlocked);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const fallbacks = onednn.describeFallbacks(onednn.nativeCoverage());
if (fallbacks.length) throw new Error(`conv-floor: kernels fell back to cpu: ${fallbacks.join('; ')}`);

const rows: Cell[][] = [];
const total = { kernel: 0, nhwc: 0, blocked: 0 };
for (const [c, h, oc, s, count] of SHAPES) {
  const k = keyOf(c, h, oc, s);
  for (const d of DIRS) {
    const a = kernel.get(k)![d], b = floorNhwc.get(k)?.[d], z = floorBlocked.get(k)?.[d];
    rows.push([k, count, d, a, b ?? null, b ? a / b : null, z ?? null]);
    total.kernel += a * count;
    total.nhwc += (b ?? 0) * count;
    total.blocked += (z ?? 0) * count;
  }
}
rows.push(['one ResNet-20 step', 19, 'all', total.kernel, haveFloor ? total.nhwc : null, haveFloor ? total.kernel / total.nhwc : null, haveFloor ? total.blocked : null]);
notes.push(`${threads} threads, batch ${batch}, fastest of ${reps} calls in each of ${rounds} alternating round(s); ms per call (the last row: per step, weighted by the count of each shape in ResNet-20)`);
notes.push('floor: the same oneDNN primitives called from C++ (nhwc, weights reordered from HWIO per call); blocked: oneDNN\'s preferred layouts, no reorders (a layout the tfjs tensors cannot keep)');
if (SHORT) notes.push(shortNote);
writeBenchResult({
  name: 'conv-floor',
  title: 'ResNet-20 convolutions: onednn kernels against oneDNN called directly (ms)',
  columns: ['shape', 'count', 'direction', 'onednn kernel', 'oneDNN floor (nhwc)', 'kernel / floor', 'oneDNN blocked, no reorders'],
  rows,
  notes,
});
