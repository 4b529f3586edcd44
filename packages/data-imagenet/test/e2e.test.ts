import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { IMAGENET_MEAN, IMAGENET_STD, loadImageNet, type EpochSummary } from '../src/index.js';
import { referenceResize } from './fixtures.js';

/** `../shared` beside the repository (LM_SHARED_DIR overrides). */
const shared = process.env.LM_SHARED_DIR ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'shared');
const sample = join(shared, 'datasets', 'imagenet-sample');
const present = existsSync(sample);
if (!present) console.warn(`[data-imagenet e2e] skipped: no data at ${sample} (set LM_SHARED_DIR)`);

describe.skipIf(!present)(`end to end over ${sample}`, () => {
  it('lists 100 classes and decodes every image to 224x224x3 with both augmentations and the eval transform', async () => {
    const warnings: string[] = [];
    const ds = await loadImageNet({ trainDir: sample, onWarning: (m) => warnings.push(m), onCorrupt: 'fail' });
    expect(ds.numClasses).toBe(100);
    expect(ds.train.size).toBe(100);
    expect(ds.classNames.every((w) => /^n\d{8}$/.test(w))).toBe(true);
    for (const augment of ['random-resized-crop', 'scale', false] as const) {
      let summary: EpochSummary | undefined;
      let n = 0;
      const seen = new Set<number>();
      for await (const b of ds.train.rawBatches({ batchSize: 32, augment, seed: 1, onEpochEnd: (s) => (summary = s) })) {
        expect(b.xs.length).toBe(b.count * 224 * 224 * 3);
        for (let i = 0; i < b.count; i++) {
          seen.add(b.indices[i]);
          expect(b.labels[i]).toBe(ds.train.labels[b.indices[i]]);
        }
        // normalised values stay within what 0..255 can produce
        let lo = Infinity;
        let hi = -Infinity;
        for (let i = 0; i < b.xs.length; i += 97) {
          lo = Math.min(lo, b.xs[i]);
          hi = Math.max(hi, b.xs[i]);
        }
        expect(lo).toBeGreaterThanOrEqual(-2.2);
        expect(hi).toBeLessThanOrEqual(2.7);
        expect(Number.isFinite(lo) && Number.isFinite(hi)).toBe(true);
        n += b.count;
      }
      expect(n).toBe(100);
      expect(seen.size).toBe(100);
      expect(summary!.skipped).toBe(0);
    }
    expect(warnings).toEqual([]);
  });

  for (const [jpegDecoder, images] of [['auto', 100], ['sharp', 25]] as const) {
    it(`the evaluation transform (decoder '${jpegDecoder}') equals an independent decode: sharp's full-image pixels, the reference resampling`, async () => {
      const ds = await loadImageNet({ trainDir: sample, onWarning: () => undefined, onCorrupt: 'fail', jpegDecoder });
      const size = 224;
      const tile = size * size * 3;
      let worstMean = 0;
      let worstImage = '';
      let compared = 0;
      const means: number[] = [];
      for await (const b of ds.train.rawBatches({ batchSize: 25, augment: false, shuffle: false })) {
        if (compared >= images) break;
        for (let i = 0; i < b.count && compared < images; i++) {
          const file = ds.train.files[b.indices[i]];
          const { data, info } = await sharp(file).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
          // torchvision's evaluation transform written out: Resize(256) (the longer side truncated), CenterCrop(224)
          // (offsets rounded half to even, as Python's round)
          const short = Math.min(info.width, info.height);
          const [rw, rh] = [Math.floor((256 * info.width) / short), Math.floor((256 * info.height) / short)];
          const [sx, sy] = [rw / info.width, rh / info.height];
          const half = (v: number) => (Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));
          const box: [number, number, number, number] = [half((rw - size) / 2) / sx, half((rh - size) / 2) / sy, size / sx, size / sy];
          const want = referenceResize(data, info.width, info.height, box, size, size);
          // back to 0..255 from the normalised batch, channel by channel
          let sum = 0;
          for (let j = 0; j < tile; j++) {
            const c = j % 3;
            const got = (b.xs[i * tile + j] * IMAGENET_STD[c] + IMAGENET_MEAN[c]) * 255;
            sum += Math.abs(got - want[j]);
          }
          const mean = sum / tile;
          means.push(mean);
          if (mean > worstMean) [worstMean, worstImage] = [mean, file];
          compared++;
        }
      }
      expect(compared).toBe(images);
      means.sort((a, b) => a - b);
      const summary = `mean |Δ| per image, sorted: ${means.map((m) => m.toFixed(2)).join(' ')}; worst ${worstImage}`;
      // IDCT differences and one rounding: a quarter of a level on most images; shrink-on-load of the large
      // ones (a half-pixel shift at most, another filter) a few levels. A wrong crop, scale or channel is tens.
      expect(means[Math.floor(images / 2)], summary).toBeLessThan(0.5);
      expect(means[Math.floor(images * 0.8)], summary).toBeLessThan(1.5);
      expect(worstMean, summary).toBeLessThan(16);
    });
  }
});
