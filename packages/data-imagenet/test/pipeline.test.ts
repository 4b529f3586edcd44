import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorruptImageError, decodeRaw, imageSize, loadImageNet, type EpochSummary, type ImageNetDataset, type Plan, type RawBatch } from '../src/index.js';
import sharp from 'sharp';
import { BLUE, GREEN, GREY, makeTree, pattern, RED, solid, TAN, tempDir, type RGB } from './fixtures.js';

import { centerCropPlan as centerCropPlanFor } from '../src/index.js';

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];
const norm = (v: number, c: number): number => (v / 255 - MEAN[c]) / STD[c];

/** Mean over the pixels of an [H, W, 3] normalised tile, back in 0..255 units. */
function meanColour(x: Float32Array, offset = 0, pixels = 224 * 224): RGB {
  const s = [0, 0, 0];
  for (let i = 0; i < pixels; i++) for (let c = 0; c < 3; c++) s[c] += x[offset + i * 3 + c];
  return s.map((v, c) => (v / pixels) * STD[c] * 255 + MEAN[c] * 255) as RGB;
}

function pixel(x: Float32Array, px: number, py: number, size = 224): RGB {
  const o = (py * size + px) * 3;
  return [0, 1, 2].map((c) => x[o + c] * STD[c] * 255 + MEAN[c] * 255) as RGB;
}

function expectColour(got: RGB, want: RGB, tol: number): void {
  for (let c = 0; c < 3; c++) expect(Math.abs(got[c] - want[c]), `channel ${c}: got ${got.map((v) => v.toFixed(1))} want ${want}`).toBeLessThanOrEqual(tol);
}

async function collect(it: AsyncIterable<RawBatch>): Promise<RawBatch[]> {
  const out: RawBatch[] = [];
  for await (const b of it) out.push({ ...b, xs: b.xs.slice(), labels: b.labels.slice(), indices: b.indices.slice() });
  return out;
}

let root: string;
let corrupt: string[];
let ds: ImageNetDataset;
let warnings: string[];
beforeAll(async () => {
  await tf.setBackend('cpu');
  ({ root, corrupt } = await makeTree());
  warnings = [];
  ds = await loadImageNet({ trainDir: join(root, 'train'), onWarning: (m) => warnings.push(m), concurrency: 3 });
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('decoding', () => {
  it('turns RGB, grayscale, CMYK JPEGs and a PNG named .JPEG into 224x224 RGB of the right colour', async () => {
    const want: Record<string, RGB> = { n00000001: RED, n00000002: GREY, n00000003: BLUE };
    const kinds = new Set<string>();
    for (let i = 0; i < ds.train.size; i++) {
      const f = ds.train.files[i];
      if (corrupt.includes(f)) continue;
      const x = await ds.train.sample(i);
      expect(x.length).toBe(224 * 224 * 3);
      const colour = f.includes('cmyk') ? TAN : want[basename(f).slice(0, 9)];
      // JPEG colour conversion and CMYK profiles move solid colours by a few levels
      expectColour(meanColour(x), colour, f.includes('cmyk') ? 8 : 3);
      kinds.add(`${(await sharp(f).metadata()).format}/${(await sharp(f).metadata()).space}`);
    }
    // the fixtures really cover these source kinds
    expect([...kinds].sort()).toEqual(['jpeg/b-w', 'jpeg/cmyk', 'jpeg/srgb', 'png/srgb']);
  });
  it('keeps channel order and normalises each channel exactly (lossless PNG)', async () => {
    const i = ds.train.files.findIndex((f) => f.endsWith('_png.JPEG'));
    expect(i).toBeGreaterThanOrEqual(0);
    for (const augment of [false, 'scale', 'random-resized-crop'] as const) {
      const x = await ds.train.sample(i, { augment, seed: 3 });
      for (const p of [0, 1000, 224 * 224 - 1]) for (let c = 0; c < 3; c++) expect(x[p * 3 + c]).toBeCloseTo(norm(RED[c], c), 5);
    }
  });
  it('uses custom mean and std', async () => {
    const d = await loadImageNet({ trainDir: join(root, 'train'), mean: [0, 0, 0], std: [1, 1, 1], classes: ['n00000001'] });
    const i = d.train.files.findIndex((f) => f.endsWith('_png.JPEG'));
    const x = await d.train.sample(i);
    expect([x[0], x[1], x[2]].map((v) => Math.round(v * 255))).toEqual(RED);
  });
  it('centre-crops the centre of the image in the evaluation transform', async () => {
    const dir = await tempDir('geom');
    const W = 512;
    const H = 384;
    // quadrants meeting at the image centre
    const img = pattern(W, H, (x, y) => (x < W / 2 ? (y < H / 2 ? RED : GREEN) : y < H / 2 ? BLUE : GREY));
    const buf = await img.png().toBuffer();
    const size = await imageSize(buf);
    const { centerCropPlan } = await import('../src/index.js');
    const t = await decodeRaw(buf, centerCropPlan(size.width, size.height));
    expect([t.width, t.height]).toEqual([224, 224]);
    const at = (x: number, y: number): RGB => {
      const o = (y * 224 + x) * 3;
      return [t.data[o], t.data[o + 1], t.data[o + 2]];
    };
    expectColour(at(50, 50), RED, 0);
    expectColour(at(170, 50), BLUE, 0);
    expectColour(at(50, 170), GREEN, 0);
    expectColour(at(170, 170), GREY, 0);
    // the vertical edge lies at the output centre (within a pixel)
    let edge = -1;
    for (let x = 1; x < 224; x++) if (at(x, 50)[2] > 120 && at(x - 1, 50)[2] <= 120) edge = x;
    expect(Math.abs(edge - 112)).toBeLessThanOrEqual(1);
    let hedge = -1;
    for (let y = 1; y < 224; y++) if (at(50, y)[1] > 120 && at(50, y - 1)[1] <= 120) hedge = y;
    expect(Math.abs(hedge - 112)).toBeLessThanOrEqual(1);
    await rm(dir, { recursive: true, force: true });
  });
  it('shrink-on-load (resize first) gives nearly the same crop as extract-then-resize', async () => {
    const img = pattern(1200, 900, (x, y) => [(x / 1200) * 255, (y / 900) * 255, ((x + y) / 2100) * 255]);
    const buf = await img.jpeg({ quality: 95 }).toBuffer();
    const plan = { kind: 'crop-resize' as const, srcWidth: 1200, srcHeight: 900, left: 150, top: 60, width: 900, height: 700, outWidth: 224, outHeight: 224, flip: false };
    const { DEFAULT_DECODE, executionPlan } = await import('../src/index.js');
    expect(executionPlan(plan, DEFAULT_DECODE).kind).toBe('resize-crop');
    const fast = await decodeRaw(buf, plan, DEFAULT_DECODE);
    const exact = await decodeRaw(buf, plan, { ...DEFAULT_DECODE, shrinkOnLoad: false });
    let diff = 0;
    for (let i = 0; i < fast.data.length; i++) diff += Math.abs(fast.data[i] - exact.data[i]);
    expect(diff / fast.data.length).toBeLessThan(2);
  });
  it('gives the same pixels when later epochs read by path (cached sizes) as the first read from bytes', async () => {
    const dir = await tempDir('cache');
    await mkdir(join(dir, 'n1'));
    await pattern(320, 240, (x, y) => [x & 255, y & 255, (x * y) & 255]).jpeg({ quality: 90 }).toFile(join(dir, 'n1', 'a.JPEG'));
    const d = await loadImageNet({ trainDir: dir });
    const first = await d.train.sample(0, { augment: 'random-resized-crop', seed: 2 });
    const again = await d.train.sample(0, { augment: 'random-resized-crop', seed: 2 });
    const other = await d.train.sample(0, { augment: 'random-resized-crop', seed: 3 });
    expect(Buffer.from(again.buffer).equals(Buffer.from(first.buffer))).toBe(true);
    expect(Buffer.from(other.buffer).equals(Buffer.from(first.buffer))).toBe(false);
    await rm(dir, { recursive: true, force: true });
  });
  it('mirrors with sharp exactly: a flipped plan gives the mirror image of the unflipped one (both plan kinds, shrink-on-load)', async () => {
    const buf = await pattern(500, 375, (x, y) => [x & 255, (y * 3) & 255, (x * y) & 255]).png().toBuffer();
    const { scaleAugmentPlan, randomResizedCropPlan, Rng } = await import('../src/index.js');
    const plans = [scaleAugmentPlan(500, 375, new Rng(1)), randomResizedCropPlan(500, 375, new Rng(2)), centerCropPlanFor(500, 375)];
    const big = await pattern(1200, 900, (x, y) => [x & 255, (y * 3) & 255, (x * y) & 255]).jpeg({ quality: 95 }).toBuffer();
    const shrinking = { kind: 'crop-resize' as const, srcWidth: 1200, srcHeight: 900, left: 100, top: 50, width: 1000, height: 800, outWidth: 224, outHeight: 224, flip: false };
    const cases: [Buffer, Plan][] = [...plans.map((p): [Buffer, Plan] => [buf, p]), [big, shrinking]];
    for (const [src, plan] of cases) {
      const a = await decodeRaw(src, { ...plan, flip: false });
      const b = await decodeRaw(src, { ...plan, flip: true });
      for (const [x, y] of [[0, 0], [10, 100], [223, 223], [111, 50]]) {
        const o = (y * 224 + x) * 3;
        const m = (y * 224 + (223 - x)) * 3;
        expect([b.data[m], b.data[m + 1], b.data[m + 2]], `${plan.kind} at ${x},${y}`).toEqual([a.data[o], a.data[o + 1], a.data[o + 2]]);
      }
    }
  });
  it('mirrors the image when the augmentation draws a flip', async () => {
    const dir = await tempDir('flip');
    await mkdir(join(dir, 'n1'));
    await pattern(256, 256, (x) => (x < 128 ? RED : BLUE)).png().toFile(join(dir, 'n1', 'a.png'));
    const d = await loadImageNet({ trainDir: dir, scaleRange: [256, 256] });
    let flipped = 0;
    let plain = 0;
    for (let seed = 0; seed < 12; seed++) {
      const plan = d.train.planFor(0, 256, 256, 'scale', seed, 0);
      const x = await d.train.sample(0, { augment: 'scale', seed });
      const left = pixel(x, 5, 100);
      const right = pixel(x, 218, 100);
      if (plan.flip) {
        flipped++;
        expectColour(left, BLUE, 0.01);
        expectColour(right, RED, 0.01);
      } else {
        plain++;
        expectColour(left, RED, 0.01);
        expectColour(right, BLUE, 0.01);
      }
    }
    expect(flipped).toBeGreaterThan(0);
    expect(plain).toBeGreaterThan(0);
    await rm(dir, { recursive: true, force: true });
  });
});

describe('batches', () => {
  it('yields NHWC float32 tensors with one-hot labels, skipping unreadable files with a warning and a count', async () => {
    warnings.length = 0;
    let summary: EpochSummary | undefined;
    const shapes: number[][] = [];
    let n = 0;
    for await (const b of ds.train.batches({ batchSize: 4, shuffle: false, augment: false, onEpochEnd: (s) => (summary = s) })) {
      expect(b.xs.dtype).toBe('float32');
      expect(b.ys.dtype).toBe('float32');
      shapes.push(b.xs.shape);
      expect(b.ys.shape).toEqual([b.xs.shape[0], 3]);
      const ys = await b.ys.array();
      ys.forEach((row, i) => {
        expect(row.reduce((a, v) => a + v, 0)).toBe(1);
        expect(row[b.labels[i]]).toBe(1);
      });
      n += b.xs.shape[0];
      tf.dispose([b.xs, b.ys]);
    }
    expect(shapes.every((s) => s.length === 4 && s[1] === 224 && s[2] === 224 && s[3] === 3)).toBe(true);
    expect(n).toBe(ds.train.size - 2);
    expect(summary!.skipped).toBe(2);
    expect(summary!.images).toBe(ds.train.size - 2);
    expect(summary!.skippedFiles.sort()).toEqual([...corrupt].sort());
    for (const f of corrupt) expect(warnings.some((w) => w.includes(f))).toBe(true);
    expect(warnings.some((w) => /2 unreadable image\(s\) skipped/.test(w))).toBe(true);
    expect(ds.train.lastEpoch?.skipped).toBe(2);
    expect(tf.memory().numTensors).toBe(0);
  });
  it('fails the epoch with an error naming the file when onCorrupt is "fail"', async () => {
    const d = await loadImageNet({ trainDir: join(root, 'train'), onCorrupt: 'fail', classes: ['n00000003'], onWarning: () => undefined });
    const err = await collect(d.train.rawBatches({ batchSize: 2, shuffle: false, augment: false })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptImageError);
    expect(corrupt).toContain((err as CorruptImageError).file);
    expect((err as Error).message).toContain((err as CorruptImageError).file);
  });
  it('is reproducible: same seed gives identical batches whatever the concurrency, another epoch differs', async () => {
    const opts = { batchSize: 3, augment: 'random-resized-crop' as const, seed: 9, epoch: 1 };
    const d1 = await loadImageNet({ trainDir: join(root, 'train'), concurrency: 1, onWarning: () => undefined });
    const d4 = await loadImageNet({ trainDir: join(root, 'train'), concurrency: 4, prefetch: 3, onWarning: () => undefined });
    const a = await collect(d1.train.rawBatches(opts));
    const b = await collect(d4.train.rawBatches(opts));
    expect(a.map((x) => [...x.indices])).toEqual(b.map((x) => [...x.indices]));
    for (let i = 0; i < a.length; i++) expect(Buffer.from(a[i].xs.buffer).equals(Buffer.from(b[i].xs.buffer))).toBe(true);
    const c = await collect(d1.train.rawBatches({ ...opts, epoch: 2 }));
    expect(c.map((x) => [...x.indices])).not.toEqual(a.map((x) => [...x.indices]));
    const s1 = await d1.train.sample(0, { augment: 'scale', seed: 1, epoch: 1 });
    const s2 = await d1.train.sample(0, { augment: 'scale', seed: 1, epoch: 2 });
    const s1b = await d1.train.sample(0, { augment: 'scale', seed: 1, epoch: 1 });
    expect(s1).toEqual(s1b);
    // a solid image looks the same under any crop, so compare the plans
    expect(d1.train.planFor(0, 500, 400, 'scale', 1, 1)).not.toEqual(d1.train.planFor(0, 500, 400, 'scale', 1, 2));
  });
  it('recycles batch buffers only once their tensors are disposed and released', async () => {
    const opts = { batchSize: 2, augment: 'random-resized-crop' as const, seed: 6, epoch: 0 };
    const ref = await collect(ds.train.rawBatches(opts));
    const sig = (x: Float32Array): number[] => [x[0], x[1000], x[x.length - 1], x.length];
    // 1. disposing each batch: contents are still right while held
    let i = 0;
    for await (const b of ds.train.batches(opts)) {
      expect(sig(b.xs.dataSync() as Float32Array)).toEqual(sig(ref[i++].xs));
      tf.dispose([b.xs, b.ys]);
    }
    expect(i).toBe(ref.length);
    // 2. keeping every xs (or a reshape sharing its data) keeps every buffer intact
    const kept: tf.Tensor[] = [];
    i = 0;
    for await (const b of ds.train.batches(opts)) {
      if (i % 2) kept.push(b.xs);
      else {
        kept.push(tf.reshape(b.xs, [-1]));
        b.xs.dispose();
      }
      b.ys.dispose();
      i++;
    }
    kept.forEach((t, k) => expect(sig(t.dataSync() as Float32Array)).toEqual(sig(ref[k].xs)));
    tf.dispose(kept);
    // 3. rawBatches with reuseBuffers cycles prefetch + 1 buffers
    const buffers = new Set<ArrayBufferLike>();
    i = 0;
    for await (const b of ds.train.rawBatches({ ...opts, reuseBuffers: true })) {
      buffers.add(b.xs.buffer);
      expect(sig(b.xs)).toEqual(sig(ref[i++].xs));
    }
    expect(buffers.size).toBe(3);
  });
  it('supports dropLast and startBatch', async () => {
    const all = await collect(ds.train.rawBatches({ batchSize: 2, seed: 4, augment: false, onEpochEnd: () => undefined }));
    const tail = await collect(ds.train.rawBatches({ batchSize: 2, seed: 4, augment: false, startBatch: 3 }));
    expect(tail.map((b) => b.batch)).toEqual(all.filter((b) => b.batch >= 3).map((b) => b.batch));
    expect(tail.map((b) => [...b.indices])).toEqual(all.filter((b) => b.batch >= 3).map((b) => [...b.indices]));
    const dropped = await collect(ds.train.rawBatches({ batchSize: 4, seed: 4, dropLast: true, augment: false }));
    expect(dropped.map((b) => b.batch)).toEqual([0, 1]);
  });
});

describe('scheduling', () => {
  it('never has more than `concurrency` decodes in flight nor decodes beyond `prefetch` batches ahead', async () => {
    const dir = await tempDir('prefetch');
    for (let c = 0; c < 2; c++) {
      await mkdir(join(dir, `n${c}`));
      for (let i = 0; i < 12; i++) await solid(64 + i, 48 + c, c ? BLUE : RED).jpeg().toFile(join(dir, `n${c}`, `${i}.JPEG`));
    }
    let inFlight = 0;
    let maxInFlight = 0;
    let maxStarted = -1;
    const d = await loadImageNet({
      trainDir: dir,
      imageSize: 32,
      scaleRange: [40, 60],
      evalResize: 36,
      concurrency: 3,
      prefetch: 2,
      hooks: {
        onDecodeStart: (e) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          maxStarted = Math.max(maxStarted, e.position);
        },
        onDecodeEnd: () => inFlight--,
      },
    });
    const B = 4;
    let received = 0;
    for await (const b of d.train.rawBatches({ batchSize: B, seed: 1 })) {
      // hold this batch while the pipeline runs freely for a while
      for (let k = 0; k < 200; k++) await new Promise((r) => setImmediate(r));
      const limit = (b.batch + 1 + 2) * B - 1;
      expect(maxStarted).toBeLessThanOrEqual(limit);
      received++;
    }
    expect(received).toBe(6);
    expect(maxInFlight).toBeLessThanOrEqual(3);
    expect(maxInFlight).toBeGreaterThanOrEqual(2);
    expect(maxStarted).toBe(23);
    await rm(dir, { recursive: true, force: true });
  });
  it('assembles batches in sampling order whatever order decodes finish in', async () => {
    const dir = await tempDir('order');
    for (let c = 0; c < 3; c++) {
      await mkdir(join(dir, `n${c}`));
      for (let i = 0; i < 5; i++) await solid(40, 40, [c * 100, i * 50, 7]).png().toFile(join(dir, `n${c}`, `${i}.png`));
    }
    const ref = await loadImageNet({ trainDir: dir, imageSize: 16, scaleRange: [20, 30], evalResize: 18, concurrency: 1 });
    const base = await collect(ref.train.rawBatches({ batchSize: 4, seed: 5, augment: 'scale' }));
    // a decoder that finishes the later-started images first: each one waits for a number of event-loop turns that decreases with its start order
    let started = 0;
    const completions: number[] = [];
    const { decodeRaw: realDecode, imageSize: size } = await import('../src/index.js');
    const { readFile } = await import('node:fs/promises');
    const shuffled = await loadImageNet({
      trainDir: dir,
      imageSize: 16,
      scaleRange: [20, 30],
      evalResize: 18,
      concurrency: 6,
      prefetch: 4,
      decoder: async (file, planFor) => {
        const me = started++;
        const buf = await readFile(file);
        const s = await size(buf);
        const plan = planFor(s.width, s.height);
        const t = await realDecode(buf, plan);
        for (let k = 0; k < 60 - (me % 6) * 10; k++) await new Promise((r) => setImmediate(r));
        completions.push(me);
        return { ...t, flip: false }; // decodeRaw already mirrored it
      },
    });
    const got = await collect(shuffled.train.rawBatches({ batchSize: 4, seed: 5, augment: 'scale' }));
    expect(completions).not.toEqual([...completions].sort((a, b) => a - b));
    expect(got.map((b) => [...b.labels])).toEqual(base.map((b) => [...b.labels]));
    for (let i = 0; i < got.length; i++) expect(Buffer.from(got[i].xs.buffer).equals(Buffer.from(base[i].xs.buffer))).toBe(true);
    await rm(dir, { recursive: true, force: true });
  });
});
