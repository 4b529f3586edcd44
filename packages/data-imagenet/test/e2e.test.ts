import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadImageNet, type EpochSummary } from '../src/index.js';

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
});
