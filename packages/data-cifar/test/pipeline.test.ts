import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  ArraySplit,
  augmentInto,
  type Batch,
  carveIndices,
  channelStats,
  epochPlan,
  loadCifar,
  normalisationLut,
  type RGB,
} from '../src/index.js';
import { makeCifar10, makeRecords } from './helpers.js';

const MEAN: RGB = [0.5, 0.4, 0.3];
const STD: RGB = [0.25, 0.2, 0.1];
const norm = (v: number, c: number) => Math.fround((v / 255 - MEAN[c]) / STD[c]);

function split(n: number, seed = 3): ArraySplit {
  const r = makeRecords(n, 'cifar10', seed);
  return new ArraySplit(r.images, r.labels, 10, { mean: MEAN, std: STD });
}

async function collect(it: AsyncIterable<Batch>): Promise<Array<{ x: Float32Array; y: Float32Array; labels: Int32Array; shape: number[] }>> {
  const out = [];
  for await (const b of it) {
    out.push({ x: b.xs.dataSync() as Float32Array, y: b.ys.dataSync() as Float32Array, labels: b.labels, shape: b.xs.shape });
    b.xs.dispose();
    b.ys.dispose();
  }
  return out;
}

describe('augmentation', () => {
  const img = makeRecords(1, 'cifar10', 11).images;
  const lut = normalisationLut(MEAN, STD);
  const black: RGB = [lut[0], lut[256], lut[512]];
  const at = (out: Float32Array, y: number, x: number, c: number) => out[(y * 32 + x) * 3 + c];
  const src = (y: number, x: number, c: number) => img[(y * 32 + x) * 3 + c];

  it('centre crop without flip is the normalised image', () => {
    const out = new Float32Array(3072);
    augmentInto(out, 0, img, 0, 4, 4, false, lut, black);
    for (let j = 0; j < 3072; j++) expect(out[j]).toBeCloseTo(norm(img[j], j % 3), 6);
  });

  it('offset (0,0) of the padded image: 4 pad rows on top, 4 pad columns on the left, content shifted', () => {
    const out = new Float32Array(3072);
    augmentInto(out, 0, img, 0, 0, 0, false, lut, black);
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++)
        for (let c = 0; c < 3; c++) {
          const want = y < 4 || x < 4 ? black[c] : norm(src(y - 4, x - 4, c), c);
          expect(at(out, y, x, c)).toBeCloseTo(want, 6);
        }
  });

  it('offset (8,2): pad columns on the right, 2 pad rows on top; black pad = raw 0 normalised', () => {
    const out = new Float32Array(3072);
    augmentInto(out, 0, img, 0, 8, 2, false, lut, black);
    expect(black[0]).toBeCloseTo(-0.5 / 0.25, 6);
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++)
        for (let c = 0; c < 3; c++) {
          const sy = y - 2;
          const sx = x + 4;
          const want = sy < 0 || sx > 31 ? black[c] : norm(src(sy, sx, c), c);
          expect(at(out, y, x, c)).toBeCloseTo(want, 6);
        }
  });

  it('flip mirrors the crop horizontally', () => {
    const a = new Float32Array(3072);
    const b = new Float32Array(3072);
    augmentInto(a, 0, img, 0, 1, 6, false, lut, black);
    augmentInto(b, 0, img, 0, 1, 6, true, lut, black);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) expect(at(b, y, x, c)).toBe(at(a, y, 31 - x, c));
  });

  it("padFill 'mean' pads with 0 after normalisation", () => {
    const out = new Float32Array(3072);
    augmentInto(out, 0, img, 0, 0, 0, false, lut, [0, 0, 0]);
    expect(at(out, 0, 0, 0)).toBe(0);
    expect(at(out, 3, 31, 2)).toBe(0);
  });

  it('plan draws offsets 0..8 and flips roughly uniformly, deterministically', () => {
    const p = epochPlan(20000, { batchSize: 100, augment: true, seed: 5, epoch: 2 });
    const q = epochPlan(20000, { batchSize: 100, augment: true, seed: 5, epoch: 2 });
    expect(p.dx).toEqual(q.dx);
    expect(Math.min(...p.dx)).toBe(0);
    expect(Math.max(...p.dx)).toBe(8);
    expect(Math.max(...p.dy)).toBe(8);
    const flips = p.flip.reduce((s, v) => s + v, 0);
    expect(flips / 20000).toBeGreaterThan(0.47);
    expect(flips / 20000).toBeLessThan(0.53);
    const centre = p.dx.filter((v) => v === 4).length / 20000;
    expect(centre).toBeGreaterThan(0.09);
    expect(centre).toBeLessThan(0.13);
  });
});

describe('batches', () => {
  it('unaugmented view: file order, normalised, one-hot labels, last partial batch kept', async () => {
    const s = split(10);
    const bs = await collect(s.batches({ batchSize: 4 }));
    expect(bs.map((b) => b.shape)).toEqual([
      [4, 32, 32, 3],
      [4, 32, 32, 3],
      [2, 32, 32, 3],
    ]);
    const b = bs[2];
    expect(Array.from(b.labels)).toEqual([s.labels[8], s.labels[9]]);
    for (let j = 0; j < 3072; j++) expect(b.x[3072 + j]).toBeCloseTo(norm(s.images[9 * 3072 + j], j % 3), 6);
    for (let k = 0; k < 10; k++) expect(b.y[10 + k]).toBe(k === s.labels[9] ? 1 : 0);
  });

  it('dropLast drops the partial batch; batchCount agrees', async () => {
    const s = split(10);
    const bs = await collect(s.batches({ batchSize: 4, dropLast: true, shuffle: true, seed: 1 }));
    expect(bs.map((b) => b.labels.length)).toEqual([4, 4]);
    expect(s.batchCount(4, true)).toBe(2);
    expect(s.batchCount(4)).toBe(3);
    expect(s.batchCount(5, true)).toBe(2);
  });

  it('shuffle visits every sample once per epoch', async () => {
    const s = split(23);
    const p = s.plan({ batchSize: 5, shuffle: true, seed: 9, epoch: 4 });
    expect(Array.from(p.order).sort((a, b) => a - b)).toEqual(Array.from({ length: 23 }, (_, i) => i));
    const bs = await collect(s.batches({ batchSize: 5, shuffle: true, seed: 9, epoch: 4 }));
    expect(bs.flatMap((b) => Array.from(b.labels))).toEqual(Array.from(p.order).map((i) => s.labels[i]));
  });

  it('same (seed, epoch) gives identical batches; another epoch or seed differs', async () => {
    const s = split(16);
    const o = { batchSize: 8, shuffle: true, augment: true, seed: 42 };
    const a = await collect(s.batches({ ...o, epoch: 3 }));
    const b = await collect(s.batches({ ...o, epoch: 3, prefetch: false }));
    const c = await collect(s.batches({ ...o, epoch: 4 }));
    const d = await collect(s.batches({ ...o, epoch: 3, seed: 43 }));
    expect(a.map((x) => Array.from(x.x))).toEqual(b.map((x) => Array.from(x.x)));
    expect(a.map((x) => Array.from(x.labels))).toEqual(b.map((x) => Array.from(x.labels)));
    const same = (p: typeof a, q: typeof a) => p.every((x, i) => x.x.every((v, j) => v === q[i].x[j]));
    expect(same(a, c)).toBe(false);
    expect(same(a, d)).toBe(false);
  });

  it('augmented batch content equals the plan applied to the raw bytes', async () => {
    const s = split(12);
    const o = { batchSize: 5, shuffle: true, augment: true, seed: 7, epoch: 1 };
    const plan = s.plan(o);
    const bs = await collect(s.batches(o));
    const lut = normalisationLut(MEAN, STD);
    const black: RGB = [lut[0], lut[256], lut[512]];
    const want = new Float32Array(3072);
    for (let k = 0; k < 12; k++) {
      augmentInto(want, 0, s.images, plan.order[k] * 3072, plan.dx[k], plan.dy[k], plan.flip[k] === 1, lut, black);
      const got = bs[Math.floor(k / 5)].x.subarray((k % 5) * 3072, (k % 5 + 1) * 3072);
      expect(Array.from(got)).toEqual(Array.from(want));
    }
    // Some samples really are shifted or flipped.
    expect(plan.dx.some((v, i) => v !== 4 || plan.dy[i] !== 4 || plan.flip[i] === 1)).toBe(true);
  });

  it('startBatch resumes mid-epoch with exactly the remaining batches', async () => {
    const s = split(17);
    const o = { batchSize: 4, shuffle: true, augment: true, seed: 3, epoch: 6 };
    const full = await collect(s.batches(o));
    const tail = await collect(s.batches({ ...o, startBatch: 2 }));
    expect(tail.length).toBe(full.length - 2);
    expect(tail.map((x) => Array.from(x.x))).toEqual(full.slice(2).map((x) => Array.from(x.x)));
    expect(await collect(s.batches({ ...o, startBatch: 99 }))).toEqual([]);
  });

  it('breaking out of an epoch leaks no tensors', async () => {
    const s = split(30);
    const before = tf.memory().numTensors;
    for await (const b of s.batches({ batchSize: 4, augment: true, shuffle: true })) {
      b.xs.dispose();
      b.ys.dispose();
      break;
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('statistics and validation split', () => {
  it('channelStats equals a direct computation', () => {
    const r = makeRecords(9, 'cifar10', 21);
    const { mean, std } = channelStats(r.images);
    for (let c = 0; c < 3; c++) {
      let s = 0;
      let n = 0;
      for (let i = c; i < r.images.length; i += 3) {
        s += r.images[i] / 255;
        n++;
      }
      const m = s / n;
      let v = 0;
      for (let i = c; i < r.images.length; i += 3) v += (r.images[i] / 255 - m) ** 2;
      expect(mean[c]).toBeCloseTo(m, 12);
      expect(std[c]).toBeCloseTo(Math.sqrt(v / n), 12);
    }
  });

  it('dataset mean/std come from the training split after the carve, and normalise every split', async () => {
    const rel = makeCifar10({ perBatch: 10, test: 6 });
    const ds = await loadCifar({ path: rel.archive, expectedRecords: false, validationSize: 15, splitSeed: 4 });
    const direct = channelStats(ds.train.images);
    expect(ds.mean).toEqual(direct.mean);
    expect(ds.std).toEqual(direct.std);
    expect(channelStats(rel.train.images).mean).not.toEqual(ds.mean);
    for await (const b of ds.test!.batches({ batchSize: 6 })) {
      const x = b.xs.dataSync();
      for (let j = 0; j < 3072; j++) expect(x[j]).toBeCloseTo((ds.test!.images[j] / 255 - ds.mean[j % 3]) / ds.std[j % 3], 5);
      b.xs.dispose();
      b.ys.dispose();
    }
  });

  it('validation split is disjoint, complete, deterministic for a seed and different for another seed', async () => {
    const rel = makeCifar10({ perBatch: 10 });
    const load = (splitSeed: number) => loadCifar({ path: rel.archive, expectedRecords: false, validationSize: 12, splitSeed });
    const a = await load(1);
    const b = await load(1);
    const c = await load(2);
    const { train, validation } = a.splitIndices!;
    expect(validation.length).toBe(12);
    expect(train.length).toBe(38);
    const all = new Set([...train, ...validation]);
    expect(all.size).toBe(50);
    expect(Array.from(b.splitIndices!.validation)).toEqual(Array.from(validation));
    expect(Array.from(c.splitIndices!.validation)).not.toEqual(Array.from(validation));
    // The splits hold exactly the records named by the indices.
    for (let i = 0; i < validation.length; i++) {
      const j = validation[i];
      expect(a.validation!.labels[i]).toBe(rel.train.labels[j]);
      expect(Buffer.compare(Buffer.from(a.validation!.images.subarray(i * 3072, (i + 1) * 3072)), Buffer.from(rel.train.images.subarray(j * 3072, (j + 1) * 3072)))).toBe(0);
    }
    for (let i = 0; i < train.length; i++) expect(a.train.labels[i]).toBe(rel.train.labels[train[i]]);
  });

  it('carveIndices rejects impossible sizes', () => {
    expect(() => carveIndices(10, 10)).toThrow(/validationSize/);
    expect(carveIndices(10, 0).validation.length).toBe(0);
  });
});
