/**
 * Throughput of the @lm/data-imagenet training pipeline (images/s) on the full-size images of
 * `../shared/datasets/imagenet-sample`, against the equivalent torchvision pipeline (PIL decoding,
 * RandomResizedCrop(224), RandomHorizontalFlip, ToTensor, Normalize, DataLoader with as many
 * workers as cores, batch 64) run by torchvision_pipeline.py in the same process tree, when a
 * Python with torchvision is available.
 *
 * Both sides see the same work: the 100 images repeated `REPEAT` times per epoch (shuffled,
 * batch 64), timed after a warm-up epoch; each figure is the best epoch over interleaved rounds
 * (ours, torchvision, ours, torchvision, ...) because the machine is shared and timings are noisy.
 * Ours runs with its default decoders (the libjpeg-turbo addon for JPEGs, sharp for the rest) and,
 * as a second row, with sharp decoding everything. Our scale augmentation and the evaluation
 * transform are reported as extra rows.
 *
 * Env: LM_SHARED_DIR (shared folder), IMAGENET_BENCH_ROUNDS (default 3), IMAGENET_BENCH_REPEAT
 * (default 5), IMAGENET_BENCH_PYTHON (python executable), IMAGENET_BENCH_CONCURRENCY.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { decodeRaw, decodeRegionNative, ImageFolder, imageSize, loadImageNet, nativeJpeg, sharpInfo, sourceBox, type Augment, type EpochSummary, type Plan } from '@lm/data-imagenet';
import { readFile } from 'node:fs/promises';
import { median, sharedDir, writeBenchResult, type Cell } from './report.js';
import { SHORT, shortNote } from './short.js';

const here = dirname(fileURLToPath(import.meta.url));
const dataDir = join(sharedDir(), 'datasets', 'imagenet-sample');
const ROUNDS = SHORT ? 1 : Number(process.env.IMAGENET_BENCH_ROUNDS ?? 3);
const REPEAT = SHORT ? 1 : Number(process.env.IMAGENET_BENCH_REPEAT ?? 5);
const BATCH = 64;
const cores = availableParallelism();
const columns = ['pipeline', 'transform', 'images/s (best)', 'images/s (median)', 'vs torchvision', 'CPU ms/image (median)'];
const notes: string[] = SHORT ? [shortNote] : [];
const load0 = loadavg()[0];

interface TorchResult {
  available: boolean;
  reason?: string;
  images_per_sec?: number;
  rates?: number[];
  cpu_ms_per_image?: number[];
  workers?: number;
  torch?: string;
  torchvision?: string;
  pillow?: string;
  python?: string;
}

function findPython(): string | null {
  const candidates = [process.env.IMAGENET_BENCH_PYTHON, '/usr/bin/python3', 'python3'].filter((x): x is string => !!x);
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return null;
}

function runTorch(py: string): TorchResult {
  const r = spawnSync(py, [join(here, 'torchvision_pipeline.py'), '--root', dataDir, '--repeat', String(REPEAT), '--trials', '2', '--batch-size', String(BATCH)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) return { available: false, reason: `torchvision_pipeline.py exited ${r.status}: ${r.stderr.trim().split('\n').slice(-1)[0]}` };
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as TorchResult;
}

if (!existsSync(dataDir)) {
  const why = `no data at ${dataDir} (set LM_SHARED_DIR)`;
  console.warn(`[imagenet-pipeline] skipped: ${why}`);
  writeBenchResult({
    name: 'imagenet-pipeline',
    title: 'ImageNet training pipeline throughput (224x224, batch 64)',
    columns,
    rows: [
      ['@lm/data-imagenet', 'random-resized-crop + flip', null, null, null, null],
      ['torchvision (PIL, DataLoader)', 'RandomResizedCrop + flip', null, null, null, null],
    ],
    notes: [`skipped: ${why}`],
  });
  process.exit(0);
}

await tf.setBackend('cpu');
const concurrency = process.env.IMAGENET_BENCH_CONCURRENCY ? Number(process.env.IMAGENET_BENCH_CONCURRENCY) : undefined;
const ds = await loadImageNet({ trainDir: dataDir, concurrency });
const cfg = ds.train.config;
const files: string[] = [];
const labels: number[] = [];
for (let r = 0; r < REPEAT; r++) {
  files.push(...ds.train.files);
  labels.push(...ds.train.labels);
}
const split = new ImageFolder(files, labels, cfg, true);
const sharpOnly = new ImageFolder(files, labels, { ...cfg, nativeJpeg: undefined }, true);
const native = nativeJpeg();
if (!native.addon) notes.push(`libjpeg-turbo addon not built, the default row decodes with sharp: ${native.error?.message.split('\n')[0]}`);

let epochCounter = 0;
let lastSummary: EpochSummary | undefined;
/** One epoch through the tensor API (tensors created and disposed): images/s and CPU ms (all threads) per image. */
async function epochRate(folder: ImageFolder, augment: Augment): Promise<{ rate: number; cpuMs: number }> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let n = 0;
  for await (const b of folder.batches({ batchSize: BATCH, augment, shuffle: true, seed: 1, epoch: epochCounter++ })) {
    n += b.labels.length;
    b.xs.dispose();
    b.ys.dispose();
  }
  const c = process.cpuUsage(c0);
  lastSummary = folder.lastEpoch;
  return { rate: n / ((performance.now() - t0) / 1000), cpuMs: (c.user + c.system) / 1000 / n };
}

const defaultDecoders = native.addon ? 'libjpeg-turbo + sharp' : 'sharp';
const transforms: { key: string; folder: ImageFolder; augment: Augment; pipeline: string; label: string }[] = [
  { key: 'rrc', folder: split, augment: 'random-resized-crop', pipeline: `@lm/data-imagenet (${defaultDecoders})`, label: 'random-resized-crop + flip' },
  { key: 'rrc-sharp', folder: sharpOnly, augment: 'random-resized-crop', pipeline: '@lm/data-imagenet (sharp only)', label: 'random-resized-crop + flip' },
  { key: 'scale', folder: split, augment: 'scale', pipeline: `@lm/data-imagenet (${defaultDecoders})`, label: 'scale aug. [256,480] + crop + flip' },
  { key: 'eval', folder: split, augment: false, pipeline: `@lm/data-imagenet (${defaultDecoders})`, label: 'eval: resize 256 + centre crop' },
];
const ours = new Map<string, number[]>(transforms.map((t) => [t.key, []]));
const oursCpu = new Map<string, number[]>(transforms.map((t) => [t.key, []]));
let decodedBy: EpochSummary['decodedBy'] | undefined;
const torchRates: number[] = [];
const torchCpu: number[] = [];
let torchInfo: TorchResult | undefined;
const py = findPython();
if (!py) notes.push('torchvision: skipped, no python with torch and torchvision importable (tried IMAGENET_BENCH_PYTHON, /usr/bin/python3, python3)');

for (const t of transforms) await epochRate(t.folder, t.augment); // warm-up: page cache, JIT
for (let round = 0; round < ROUNDS; round++) {
  for (const t of transforms) {
    const reps = t.key === 'rrc' ? 2 : 1;
    for (let i = 0; i < reps; i++) {
      const r = await epochRate(t.folder, t.augment);
      ours.get(t.key)!.push(r.rate);
      oursCpu.get(t.key)!.push(r.cpuMs);
      if (t.key === 'rrc') decodedBy = lastSummary?.decodedBy;
    }
  }
  if (py) {
    const r = runTorch(py);
    if (r.available && r.images_per_sec) {
      torchRates.push(...(r.rates ?? [r.images_per_sec]));
      torchCpu.push(...(r.cpu_ms_per_image ?? []));
      torchInfo = r;
    } else if (!torchInfo) {
      notes.push(`torchvision: skipped, ${r.reason ?? 'no result'}`);
      break;
    }
  }
  console.log(`[imagenet-pipeline] round ${round + 1}/${ROUNDS}: ours rrc ${Math.max(...ours.get('rrc')!).toFixed(0)} img/s (sharp only ${Math.max(...ours.get('rrc-sharp')!).toFixed(0)}), torchvision ${torchRates.length ? Math.max(...torchRates).toFixed(0) : '-'} img/s`);
}

// Single-threaded full decode (no crop, no resize): CPU ms per image, sharp, libjpeg-turbo addon and PIL, best of 3 passes.
const bytes = await Promise.all(ds.train.files.map((f) => readFile(f)));
const sizes = await Promise.all(bytes.map((b) => imageSize(b)));
const wholeImage = (i: number): Plan => {
  const { width, height } = sizes[i];
  return { kind: 'crop-resize', srcWidth: width, srcHeight: height, left: 0, top: 0, width, height, outWidth: width, outHeight: height, flip: false };
};
/** CPU ms per image of decoding every image one after the other, best of 3 passes. */
async function decodeCpuMs(decode: (i: number) => Promise<unknown>): Promise<number> {
  let best = Infinity;
  for (let pass = 0; pass < 3; pass++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < bytes.length; i++) await decode(i);
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1000 / bytes.length);
  }
  return best;
}
const sharpDecode = await decodeCpuMs((i) => decodeRaw(bytes[i], wholeImage(i), cfg.decode));
const addon = native.addon;
const nativeDecode = addon
  ? await decodeCpuMs(async (i) => {
      const r = await decodeRegionNative(addon, bytes[i], wholeImage(i), cfg.decode);
      if (typeof r === 'string') await decodeRaw(bytes[i], wholeImage(i), cfg.decode); // left to sharp, as the pipeline does
    })
  : null;
let pilDecode: number | null = null;
if (py) {
  const r = spawnSync(py, [join(here, 'torchvision_pipeline.py'), '--root', dataDir, '--decode-only', '--trials', '3'], { encoding: 'utf8' });
  if (r.status === 0) pilDecode = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { decode_cpu_ms?: number }).decode_cpu_ms ?? null;
}

// Agreement with Pillow: each image's random-resized-crop box (seed 7, unflipped) through the addon and
// through sharp, against PIL's resize(BILINEAR, box=...), the resampling torchvision's RandomResizedCrop uses.
const agreement: Record<string, { mean_abs: number; max_abs: number } | null> = { addon: null, sharp: null };
if (py) {
  const tmp = mkdtempSync(join(tmpdir(), 'lm-imagenet-bench-'));
  try {
    const S = cfg.imageSize;
    const plans = sizes.map((sz, i) => ({ ...ds.train.planFor(i, sz.width, sz.height, 'random-resized-crop', 7, 0), flip: false }));
    const items = plans.map((p, i) => {
      const b = sourceBox(p);
      return { path: ds.train.files[i], box: [b.x, b.y, b.x + b.width, b.y + b.height] };
    });
    const decoders: [string, (i: number) => Promise<Uint8Array | null>][] = [
      ['sharp', async (i) => (await decodeRaw(bytes[i], plans[i], { ...cfg.decode, shrinkOnLoad: false })).data],
    ];
    if (addon) {
      decoders.unshift(['addon', async (i) => {
        const r = await decodeRegionNative(addon, bytes[i], plans[i], { shrinkOnLoad: false });
        return typeof r === 'string' ? null : r.data;
      }]);
    }
    for (const [name, decode] of decoders) {
      const tiles = new Uint8Array(plans.length * S * S * 3);
      const kept: typeof items = [];
      for (let i = 0; i < plans.length; i++) {
        const t = await decode(i);
        if (!t) continue;
        tiles.set(t, kept.length * S * S * 3);
        kept.push(items[i]);
      }
      const bin = join(tmp, `${name}.bin`);
      writeFileSync(bin, tiles.subarray(0, kept.length * S * S * 3));
      writeFileSync(join(tmp, `${name}.json`), JSON.stringify({ bin, size: S, items: kept }));
      const r = spawnSync(py, [join(here, 'torchvision_pipeline.py'), '--root', dataDir, '--compare', join(tmp, `${name}.json`)], { encoding: 'utf8' });
      if (r.status === 0) agreement[name] = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { mean_abs: number; max_abs: number };
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const torchBest = torchRates.length ? Math.max(...torchRates) : null;
const rows: Cell[][] = [];
for (const t of transforms) {
  const rates = ours.get(t.key)!;
  const best = Math.max(...rates);
  rows.push([t.pipeline, t.label, best, median(rates), t.augment === 'random-resized-crop' && torchBest ? best / torchBest : null, median(oursCpu.get(t.key)!)]);
}
rows.splice(2, 0, ['torchvision (PIL, DataLoader)', 'RandomResizedCrop + flip', torchBest, torchRates.length ? median(torchRates) : null, torchBest ? 1 : null, torchCpu.length ? median(torchCpu) : null]);

const ratio = torchBest ? Math.max(...ours.get('rrc')!) / torchBest : null;
const sharpRatio = torchBest ? Math.max(...ours.get('rrc-sharp')!) / torchBest : null;
const cpuRatio = torchCpu.length ? median(torchCpu) / median(oursCpu.get('rrc')!) : null;
notes.push(
  `${ds.train.size} full-size images (${dataDir}) x ${REPEAT} per epoch, batch ${BATCH}, shuffled; best and median epoch over ${ROUNDS} interleaved rounds after a warm-up epoch`,
  `ours: ${cfg.concurrency} images in flight, prefetch ${cfg.prefetch} batches, libjpeg-turbo ${sharpInfo().libjpegTurbo ?? 'addon not built'}, sharp ${sharpInfo().sharp} / libvips ${sharpInfo().vips}, sharp.concurrency ${sharpInfo().concurrency}, UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? 'unset (4)'}, kernel ${cfg.decode.kernel}, failOn ${cfg.decode.failOn}, ICC ${cfg.decode.colourManagement}; tensors created with tfjs-backend-cpu and disposed`,
  torchInfo
    ? `torchvision ${torchInfo.torchvision}, torch ${torchInfo.torch}, Pillow ${torchInfo.pillow}, Python ${torchInfo.python} (${py}), DataLoader ${torchInfo.workers} workers, persistent workers, warm-up epoch excluded`
    : 'torchvision: not measured',
  ratio !== null ? `ratio ours/torchvision (random-resized-crop, best vs best): ${ratio.toFixed(2)}x (target >= 1.5x); with sharp decoding everything: ${sharpRatio!.toFixed(2)}x` : 'ratio: n/a',
  `decoders of the last default random-resized-crop epoch: ${decodedBy ? Object.entries(decodedBy).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') : 'n/a'} images`,
  'CPU ms/image: user + system time of all threads (ours) or of the main process and the DataLoader workers (torchvision, from /proc) per image; less sensitive to other load than images/s',
  cpuRatio !== null ? `images per CPU-second, ours/torchvision (random-resized-crop, medians): ${cpuRatio.toFixed(2)}x` : 'CPU ratio: n/a',
  `single-threaded full decode only, CPU ms/image (best of 3 passes): sharp ${sharpDecode.toFixed(2)}, libjpeg-turbo addon ${nativeDecode === null ? 'n/a' : nativeDecode.toFixed(2)}, PIL ${pilDecode === null ? 'n/a' : pilDecode.toFixed(2)}`,
  `pixels against Pillow's resize(BILINEAR, box) of each image's random-resized-crop box (seed 7, unflipped, shrink-on-load off), mean / max absolute difference in 0..255 levels: ` +
    `libjpeg-turbo addon ${agreement.addon ? `${agreement.addon.mean_abs.toFixed(2)} / ${agreement.addon.max_abs}` : 'n/a'}, sharp ${agreement.sharp ? `${agreement.sharp.mean_abs.toFixed(2)} / ${agreement.sharp.max_abs}` : 'n/a'}`,
  `${cores} cores; 1-min load average ${load0.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end (the machine is shared: figures are noisy)`,
);
writeBenchResult({
  name: 'imagenet-pipeline',
  title: 'ImageNet training pipeline throughput (224x224, batch 64)',
  columns,
  rows,
  notes,
  extra: { ours: Object.fromEntries([...ours].map(([k, v]) => [String(k), v])), oursCpuMs: Object.fromEntries([...oursCpu].map(([k, v]) => [String(k), v])), torchvision: torchRates, torchvisionCpuMs: torchCpu, torchInfo, ratio, sharpRatio, cpuRatio, decodedBy, agreement, sharpDecodeCpuMs: sharpDecode, nativeDecodeCpuMs: nativeDecode, pilDecodeCpuMs: pilDecode, repeat: REPEAT, rounds: ROUNDS },
});
