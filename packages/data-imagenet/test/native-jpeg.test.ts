import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeRegionNative,
  loadImageNet,
  nativeJpeg,
  normalisationLut,
  resolveJpegDecoder,
  DEFAULT_DECODE,
  type EpochSummary,
  type NativeJpegAddon,
  type CropResizePlan,
  type Plan,
  type RawBatch,
} from '../src/index.js';
import { makeTree, pattern, referenceResize, tempDir, type RGB } from './fixtures.js';
import { testSeed, uniformSource } from '../../../tools/test-seed.js';

const fuzzSeed = testSeed(import.meta.url);
const nextUniform = uniformSource(fuzzSeed);

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const MEAN: RGB = [0.485, 0.456, 0.406];
const STD: RGB = [0.229, 0.224, 0.225];

/** A smooth colour field: resampling differences stay small where the image has no hard edges. */
const smooth = (w: number, h: number) =>
  pattern(w, h, (x, y) => [
    Math.round(127 + 100 * Math.sin(x / 23) * Math.cos(y / 31)),
    Math.round(127 + 90 * Math.cos((x + y) / 37)),
    Math.round(60 + (150 * y) / h),
  ]);

function diff(a: ArrayLike<number>, b: ArrayLike<number>): { mean: number; max: number } {
  expect(a.length).toBe(b.length);
  let s = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    s += d;
    m = Math.max(m, d);
  }
  return { mean: s / a.length, max: m };
}

const cropPlan = (W: number, H: number, box: [number, number, number, number], out: number, flip = false): CropResizePlan => ({
  kind: 'crop-resize',
  srcWidth: W,
  srcHeight: H,
  left: box[0],
  top: box[1],
  width: box[2],
  height: box[3],
  outWidth: out,
  outHeight: out,
  flip,
});

let addon: NativeJpegAddon;
let dir: string;
/** 4:4:4 quality-100 JPEG of the smooth field and its pixels as decoded by sharp. */
let jpeg: Buffer;
let pixels: Buffer;
const W = 333;
const H = 251;

beforeAll(async () => {
  const loaded = nativeJpeg();
  if (!loaded.addon) throw loaded.error;
  addon = loaded.addon;
  dir = await tempDir('native');
  jpeg = await smooth(W, H).jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer();
  pixels = await sharp(jpeg).raw().toBuffer();
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('libjpeg-turbo region decoder', () => {
  it('reports the libjpeg-turbo it was built against', () => {
    expect(addon.libjpegTurbo).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('crops and resizes like the reference triangle filter: shrinking, near 1:1, enlarging, fractional boxes', async () => {
    const cases: [number, number, number, number][] = [
      [10, 7, 300, 240], // shrink 1.3x / 1.1x
      [0, 0, W, H], // whole image
      [50.25, 20.5, 180.5, 150.75], // fractional (resize-then-crop plans)
      [100, 80, 90, 70], // enlarge 2.5x
      [W - 64, H - 64, 64, 64], // corner: filter taps clipped at the image edge
    ];
    for (const box of cases) {
      const plan: Plan = { ...cropPlan(W, H, [0, 0, 1, 1], 112), left: box[0], top: box[1], width: box[2], height: box[3] };
      const got = await decodeRegionNative(addon, jpeg, plan, { shrinkOnLoad: false });
      if (typeof got === 'string') throw new Error(got);
      expect([got.width, got.height]).toEqual([112, 112]);
      const d = diff(got.data, referenceResize(pixels, W, H, box, 112, 112));
      // the two decoders' IDCTs differ by a level here and there; the resampling itself rounds once
      expect(d.mean, `box ${box}`).toBeLessThan(0.75);
      expect(d.max, `box ${box}`).toBeLessThanOrEqual(4);
    }
  });

  it('copies pixels 1:1 when the box is the output size, like a plain decode', async () => {
    const whole: Plan = { ...cropPlan(W, H, [0, 0, W, H], 1), outWidth: W, outHeight: H };
    const part: Plan = { ...cropPlan(W, H, [17, 9, 100, 120], 1), outWidth: 100, outHeight: 120 };
    const a = await decodeRegionNative(addon, jpeg, whole, { shrinkOnLoad: true });
    const b = await decodeRegionNative(addon, jpeg, part, { shrinkOnLoad: true });
    if (typeof a === 'string' || typeof b === 'string') throw new Error('fell back');
    const d = diff(a.data, pixels);
    expect(d.mean).toBeLessThan(0.2);
    expect(d.max).toBeLessThanOrEqual(2);
    for (let y = 0; y < 120; y++) expect(Buffer.compare(b.data.subarray(y * 300, (y + 1) * 300), a.data.subarray(((y + 9) * W + 17) * 3, ((y + 9) * W + 117) * 3))).toBe(0);
  });

  it('normalises and mirrors into a float32 batch at an offset, leaving the rest untouched', async () => {
    const lut = normalisationLut(MEAN, STD);
    const S = 64;
    const tile = S * S * 3;
    const plan = cropPlan(W, H, [20, 10, 200, 180], S);
    const raw = await decodeRegionNative(addon, jpeg, plan, { shrinkOnLoad: true });
    if (typeof raw === 'string') throw new Error(raw);
    for (const flip of [false, true]) {
      const batch = new Float32Array(3 * tile).fill(7);
      const r = await decodeRegionNative(addon, jpeg, { ...plan, flip }, { shrinkOnLoad: true }, { data: batch, offset: tile, lut });
      expect(r).toBe(true);
      expect(batch.subarray(0, tile).every((v) => v === 7)).toBe(true);
      expect(batch.subarray(2 * tile).every((v) => v === 7)).toBe(true);
      const want = new Float32Array(tile);
      for (let y = 0; y < S; y++)
        for (let x = 0; x < S; x++) {
          const sx = flip ? S - 1 - x : x;
          for (let c = 0; c < 3; c++) want[(y * S + x) * 3 + c] = lut[c * 256 + raw.data[(y * S + sx) * 3 + c]];
        }
      expect(batch.subarray(tile, 2 * tile)).toEqual(want);
    }
  });

  it('refuses a target without room for the tile, before decoding', () => {
    const lut = normalisationLut(MEAN, STD);
    const plan = cropPlan(W, H, [0, 0, 100, 100], 32);
    expect(() => addon.decodeRegion(jpeg, [0, 0, 100, 100], 32, 32, true, { data: new Float32Array(32 * 32 * 3), offset: 1, lut, flip: false })).toThrow(/room/);
    expect(() => addon.decodeRegion(jpeg, [0, 0, 100, 100], 32, 32, true, { data: new Float32Array(32 * 32 * 3), offset: 0, lut: new Float32Array(10), flip: false })).toThrow(/lut/);
    expect(() => addon.decodeRegion(jpeg, [0, 0, 100] as unknown as [number, number, number, number], 32, 32, true)).toThrow(/box/);
    expect(plan.kind).toBe('crop-resize');
  });

  it('decodes at 1/2, 1/4 or 1/8 scale only while the scaled box still covers the output, staying close to the full decode', async () => {
    const big = await smooth(1200, 900).jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer();
    const full = await sharp(big).raw().toBuffer();
    for (const [box, out] of [
      [[0, 0, 1200, 900], 224], // 1/2 (900 / 4 < 224)
      [[100, 50, 1000, 800], 96], // 1/8
    ] as [[number, number, number, number], number][]) {
      const plan = cropPlan(1200, 900, box, out);
      const shrunk = await decodeRegionNative(addon, big, plan, { shrinkOnLoad: true });
      const exact = await decodeRegionNative(addon, big, plan, { shrinkOnLoad: false });
      if (typeof shrunk === 'string' || typeof exact === 'string') throw new Error('fell back');
      expect(diff(exact.data, referenceResize(full, 1200, 900, box, out, out)).mean).toBeLessThan(0.75);
      // the DCT-domain shrink averages differently from the triangle filter, by a level or two on a smooth image
      expect(diff(shrunk.data, exact.data).mean).toBeLessThan(2);
    }
  });

  it('reads 4:2:0, progressive and grayscale JPEGs, grey becoming three equal channels', async () => {
    const sources = {
      subsampled: await smooth(W, H).jpeg({ quality: 100, chromaSubsampling: '4:2:0' }).toBuffer(),
      progressive: await smooth(W, H).jpeg({ quality: 100, chromaSubsampling: '4:4:4', progressive: true }).toBuffer(),
      grey: await smooth(W, H).toColourspace('b-w').jpeg({ quality: 100 }).toBuffer(),
    };
    const box: [number, number, number, number] = [30, 20, 250, 200];
    for (const [name, buf] of Object.entries(sources)) {
      const ref = await sharp(buf).toColourspace('srgb').removeAlpha().raw().toBuffer();
      const got = await decodeRegionNative(addon, buf, cropPlan(W, H, box, 80), { shrinkOnLoad: false });
      if (typeof got === 'string') throw new Error(`${name}: ${got}`);
      // 4:2:0 chroma upsampling differs between decoders by a few levels at colour gradients
      expect(diff(got.data, referenceResize(ref, W, H, box, 80, 80)).mean, name).toBeLessThan(name === 'subsampled' ? 1.5 : 0.75);
      if (name === 'grey') for (let i = 0; i < got.data.length; i += 3) expect(got.data[i + 1] === got.data[i] && got.data[i + 2] === got.data[i]).toBe(true);
    }
  });

  it('reads a file by path, and names the file when it cannot', async () => {
    const file = join(dir, 'a.jpg');
    await writeFile(file, jpeg);
    const plan = cropPlan(W, H, [0, 0, 200, 200], 50);
    const byPath = await decodeRegionNative(addon, file, plan, { shrinkOnLoad: true });
    const byBytes = await decodeRegionNative(addon, await readFile(file), plan, { shrinkOnLoad: true });
    if (typeof byPath === 'string' || typeof byBytes === 'string') throw new Error('fell back');
    expect(Buffer.compare(byPath.data, byBytes.data)).toBe(0);
    const missing = join(dir, 'missing.JPEG');
    await expect(decodeRegionNative(addon, missing, plan, { shrinkOnLoad: true })).rejects.toThrow(missing);
  });

  it('leaves PNGs, CMYK, truncated and damaged JPEGs and boxes outside the image to sharp, saying why', async () => {
    const png = await smooth(64, 64).png().toBuffer();
    const cmyk = await smooth(64, 64).toColourspace('cmyk').jpeg({ quality: 90 }).toBuffer();
    const truncated = jpeg.subarray(0, Math.floor(jpeg.length * 0.6));
    // scan data overwritten in the middle, end marker intact
    const damaged = Buffer.from(jpeg);
    damaged.fill(0xa5, Math.floor(jpeg.length * 0.3), Math.floor(jpeg.length * 0.3) + 2000);
    damaged[Math.floor(jpeg.length * 0.3) + 500] = 0xff;
    damaged[Math.floor(jpeg.length * 0.3) + 501] = 0xd3; // a stray restart marker
    const plan = (w: number, h: number): Plan => cropPlan(w, h, [0, 0, w, h], 32);
    expect(await decodeRegionNative(addon, png, plan(64, 64), { shrinkOnLoad: true })).toMatch(/not a JPEG/);
    expect(await decodeRegionNative(addon, cmyk, plan(64, 64), { shrinkOnLoad: true })).toMatch(/CMYK/);
    expect(await decodeRegionNative(addon, truncated, plan(W, H), { shrinkOnLoad: true })).toMatch(/truncated/);
    expect(typeof (await decodeRegionNative(addon, damaged, plan(W, H), { shrinkOnLoad: true }))).toBe('string');
    expect(await decodeRegionNative(addon, jpeg, cropPlan(W, H, [W - 10, 0, 20, 20], 32), { shrinkOnLoad: true })).toMatch(/outside/);
  });

  it('survives damaged files: every one of 300 seeded random corruptions decodes correctly or falls back naming why', async () => {
    const w = 120;
    const h = 90;
    const clean = await smooth(w, h).jpeg({ quality: 90, chromaSubsampling: '4:2:0' }).toBuffer();
    const cleanPixels = (await sharp(clean).raw().toBuffer({ resolveWithObject: true })).data;
    const rand = (n: number): number => Math.floor(nextUniform() * n);
    // libjpeg's own messages, and the addon's reasons for leaving an image to sharp
    const named = /^(not a JPEG|no end-of-image marker \(truncated\?\)|box outside the image|empty box|.*CMYK.*|[A-Z][A-Za-z ]+.*)$/;
    const tally = new Map<string, number>();
    for (let k = 0; k < 300; k++) {
      const bad = Buffer.from(clean);
      const hits: number[] = [];
      for (let j = 0, n = 1 + rand(8); j < n; j++) {
        const at = rand(bad.length);
        hits.push(at);
        bad[at] = rand(256); // headers included
      }
      const box: [number, number, number, number] = [rand(40), rand(30), 40 + rand(80), 30 + rand(60)];
      const where = `case ${k}: bytes ${hits.join(',')} changed, box ${box} (seed ${fuzzSeed})`;
      // No catch: a rejection or a crash fails the test.
      const shrinkOnLoad = k % 2 === 0;
      const r = await decodeRegionNative(addon, bad, cropPlan(w, h, box, 32), { shrinkOnLoad });
      const reference = await sharp(bad).raw().toBuffer({ resolveWithObject: true }).catch((e: Error) => e);
      const sharpDecodes = !(reference instanceof Error) && reference.info.width === w && reference.info.height === h;
      // the frame header may be among the damaged bytes: the size is the one the file now declares
      const size = await sharp(bad).metadata().then((m) => [m.width ?? 0, m.height ?? 0], () => [w, h]);
      const inside = box[0] + box[2] <= size[0]! && box[1] + box[3] <= size[1]!;
      if (typeof r === 'string') {
        expect(r, where).toMatch(named);
        expect(r, where).not.toBe('unknown');
        // a clean header and a box outside the image: that is the reason given
        if (!inside && sharpDecodes) expect(r, where).toMatch(/^(box outside the image|no end-of-image marker \(truncated\?\))$/);
        tally.set(r === 'box outside the image' ? 'fallback: outside' : 'fallback: damaged', (tally.get(r === 'box outside the image' ? 'fallback: outside' : 'fallback: damaged') ?? 0) + 1);
        continue;
      }
      expect(inside, `${where}: decoded a box that is outside the image`).toBe(true);
      expect([r.width, r.height, r.data.length], where).toEqual([32, 32, 32 * 32 * 3]);
      if (sharpDecodes) {
        // the same bytes through sharp's decoder and the reference resampling: the same image
        const d = diff(r.data, referenceResize((reference as { data: Buffer }).data, w, h, box, 32, 32));
        if (shrinkOnLoad) {
          // The IDCT scaled in the DCT domain treats garbage coefficients unlike a full decode and a resize, by
          // as much as the garbage weighs: compared only where the damage left sharp's pixels as the clean ones.
          const damageSeen = (reference as { data: Buffer }).data.length !== cleanPixels.length || diff((reference as { data: Buffer }).data, cleanPixels).mean >= 1;
          if (damageSeen) {
            tally.set('decoded (damaged pixels, scaled IDCT)', (tally.get('decoded (damaged pixels, scaled IDCT)') ?? 0) + 1);
            continue;
          }
          expect(d.mean, where).toBeLessThan(4);
        } else {
          // two libjpeg-turbo builds (IDCTs, damaged quantisation tables, error recovery) differ here and there
          expect(d.mean, where).toBeLessThan(1);
        }
        tally.set('decoded (= sharp)', (tally.get('decoded (= sharp)') ?? 0) + 1);
      } else {
        // sharp rejects the whole file; the addon decoded only the rows of the box, before the damage
        tally.set('decoded (sharp rejects the whole file)', (tally.get('decoded (sharp rejects the whole file)') ?? 0) + 1);
      }
    }
    console.info(`[damaged JPEGs] ${[...tally].map(([k, v]) => `${k}: ${v}`).join(', ')}`);
    expect(tally.get('decoded (= sharp)') ?? 0).toBeGreaterThan(0);
    expect(tally.get('fallback: damaged') ?? 0).toBeGreaterThan(0);
  });

  it('decodes many images at once into one batch exactly as one at a time', async () => {
    const lut = normalisationLut(MEAN, STD);
    const S = 48;
    const tile = S * S * 3;
    const plans = Array.from({ length: 24 }, (_, i) => ({ ...cropPlan(W, H, [i * 3, i * 2, 200 - i * 2, 180 - i], S), flip: i % 2 === 1 }));
    const together = new Float32Array(plans.length * tile);
    await Promise.all(plans.map((p, i) => decodeRegionNative(addon, jpeg, p, { shrinkOnLoad: true }, { data: together, offset: i * tile, lut })));
    const alone = new Float32Array(plans.length * tile);
    for (let i = 0; i < plans.length; i++) await decodeRegionNative(addon, jpeg, plans[i], { shrinkOnLoad: true }, { data: alone, offset: i * tile, lut });
    expect(together).toEqual(alone);
  });
});

describe('choosing the JPEG decoder', () => {
  let root: string;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    ({ root } = await makeTree());
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function epoch(jpegDecoder: 'auto' | 'sharp' | 'libjpeg-turbo'): Promise<{ batches: RawBatch[]; summary: EpochSummary }> {
    const ds = await loadImageNet({ trainDir: join(root, 'train'), jpegDecoder, onWarning: () => undefined });
    const batches: RawBatch[] = [];
    let summary: EpochSummary | undefined;
    for await (const b of ds.train.rawBatches({ batchSize: 4, augment: 'random-resized-crop', seed: 5, onEpochEnd: (s) => (summary = s) })) batches.push({ ...b, xs: b.xs.slice() });
    return { batches, summary: summary! };
  }

  it('by default sends JPEGs to libjpeg-turbo and the rest (PNG, CMYK) to sharp, with the same samples as sharp alone', async () => {
    const auto = await epoch('auto');
    const viaSharp = await epoch('sharp');
    // tree: 3 + 2 + 2 readable RGB/grey JPEGs; a PNG and a CMYK JPEG; two unreadable files
    expect(auto.summary.decodedBy).toEqual({ 'libjpeg-turbo': 7, sharp: 2, custom: 0 });
    expect(viaSharp.summary.decodedBy).toEqual({ 'libjpeg-turbo': 0, sharp: 9, custom: 0 });
    expect(auto.summary.skipped).toBe(2);
    expect(auto.batches.map((b) => [...b.indices])).toEqual(viaSharp.batches.map((b) => [...b.indices]));
    for (let i = 0; i < auto.batches.length; i++) {
      // solid-colour fixtures: both decoders give the same colours within a level (in normalised units ~0.02)
      expect(diff(auto.batches[i].xs, viaSharp.batches[i].xs).max).toBeLessThan(0.1);
    }
  });

  // decodes the fixture tree six times over: minutes on a loaded machine, seconds on an idle one
  it('writes the same floats into a batch as sample() returns for that image (both flips, every transform)', { timeout: 600_000 }, async () => {
    const ds = await loadImageNet({ trainDir: join(root, 'train'), onWarning: () => undefined });
    for (const augment of ['random-resized-crop', 'scale', false] as const) {
      for await (const b of ds.train.rawBatches({ batchSize: 4, augment, seed: 9, epoch: 2 })) {
        for (let i = 0; i < b.count; i++) {
          const one = await ds.train.sample(b.indices[i], { augment, seed: 9, epoch: 2 });
          expect(b.xs.subarray(i * one.length, (i + 1) * one.length)).toEqual(one);
        }
      }
    }
  });

  it('without the addon, warns once how to build it and decodes everything with sharp', () => {
    const script = `
      import { loadImageNet } from '@lm/data-imagenet';
      const warnings = [];
      const ds = await loadImageNet({ trainDir: ${JSON.stringify(join(root, 'train'))}, onWarning: (m) => warnings.push(m) });
      await loadImageNet({ trainDir: ${JSON.stringify(join(root, 'train'))}, onWarning: (m) => warnings.push(m) });
      let summary;
      for await (const b of ds.train.rawBatches({ batchSize: 4, onEpochEnd: (s) => (summary = s) }));
      let strict = '';
      try { await loadImageNet({ trainDir: ${JSON.stringify(join(root, 'train'))}, jpegDecoder: 'libjpeg-turbo' }); } catch (e) { strict = e.message; }
      console.log(JSON.stringify({ warnings: warnings.filter((w) => w.includes('libjpeg')), decodedBy: summary.decodedBy, strict }));
    `;
    const missing = join(root, 'no-such-addon.node');
    const r = spawnSync(process.execPath, ['--conditions=@lm/source', '--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: packageDir,
      encoding: 'utf8',
      env: { ...process.env, LM_IMAGENET_JPEG_ADDON: missing, NODE_OPTIONS: '' },
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.warnings).toHaveLength(1);
    expect(out.warnings[0]).toContain(missing);
    expect(out.warnings[0]).toContain('npm run build:native -w @lm/data-imagenet');
    expect(out.warnings[0]).toContain('sharp instead');
    expect(out.decodedBy).toEqual({ 'libjpeg-turbo': 0, sharp: 9, custom: 0 });
    expect(out.strict).toContain('libjpeg-turbo addon is not available');
  });

  it("'libjpeg-turbo' refuses settings it does not implement; an unknown choice is an error", () => {
    expect(() => resolveJpegDecoder('libjpeg-turbo', { ...DEFAULT_DECODE, kernel: 'cubic' }, () => undefined)).toThrow(/kernel 'linear'/);
    expect(() => resolveJpegDecoder('libjpeg-turbo', { ...DEFAULT_DECODE, colourManagement: 'apply' }, () => undefined)).toThrow(/ICC/);
    expect(resolveJpegDecoder('auto', { ...DEFAULT_DECODE, kernel: 'cubic' }, () => undefined)).toBeUndefined();
    expect(() => resolveJpegDecoder('fast' as never, DEFAULT_DECODE, () => undefined)).toThrow(/jpegDecoder must be/);
    expect(resolveJpegDecoder('libjpeg-turbo', DEFAULT_DECODE, () => undefined)).toBe(addon);
  });
});
