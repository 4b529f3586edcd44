import { describe, expect, it } from 'vitest';
import { centerCropPlan, deriveSeed, executionPlan, permutation, randomResizedCropPlan, readHeader, resizeShorter, Rng, roundHalfEven, scaleAugmentPlan, sourceBox } from '../src/index.js';

describe('prng', () => {
  it('is deterministic and seed-sensitive', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xa = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xa);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xa);
    expect(deriveSeed(1, 2, 3)).not.toBe(deriveSeed(1, 3, 2));
    expect(deriveSeed(1, 2 ** 32)).not.toBe(deriveSeed(1, 0));
  });
  it('draws uniform numbers in range and permutations', () => {
    const r = new Rng(7);
    let sum = 0;
    for (let i = 0; i < 10000; i++) {
      const v = r.next();
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(1);
      sum += v;
    }
    expect(sum / 10000).toBeCloseTo(0.5, 1);
    const p = permutation(100, new Rng(3));
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect([...p]).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});

describe('scale augmentation geometry', () => {
  it('resizes the shorter side into [256, 480] and crops 224 inside the resized image', () => {
    const rng = new Rng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const w = 100 + ((i * 37) % 900);
      const h = 100 + ((i * 53) % 900);
      const p = scaleAugmentPlan(w, h, rng, { flip: true });
      const shorter = Math.min(p.resizeWidth, p.resizeHeight);
      expect(shorter).toBe(p.shorter);
      expect(shorter).toBeGreaterThanOrEqual(256);
      expect(shorter).toBeLessThanOrEqual(480);
      seen.add(shorter);
      // aspect ratio kept (longer side truncated)
      expect(Math.abs(p.resizeWidth / p.resizeHeight - w / h)).toBeLessThan(1 / shorter + 1e-9 + 1 / Math.min(p.resizeWidth, p.resizeHeight));
      expect(p.width).toBe(224);
      expect(p.height).toBe(224);
      expect(p.left).toBeGreaterThanOrEqual(0);
      expect(p.top).toBeGreaterThanOrEqual(0);
      expect(p.left + 224).toBeLessThanOrEqual(p.resizeWidth);
      expect(p.top + 224).toBeLessThanOrEqual(p.resizeHeight);
    }
    expect(Math.min(...seen)).toBeLessThan(262);
    expect(Math.max(...seen)).toBeGreaterThan(474);
  });
  it('flips about half of the time', () => {
    const rng = new Rng(5);
    let flips = 0;
    for (let i = 0; i < 2000; i++) flips += scaleAugmentPlan(500, 375, rng, { flip: true }).flip ? 1 : 0;
    expect(flips).toBeGreaterThan(900);
    expect(flips).toBeLessThan(1100);
  });
});

describe('random-resized-crop geometry', () => {
  it('keeps area fraction in [0.08, 1] and aspect ratio in [3/4, 4/3] over many draws', () => {
    const rng = new Rng(11);
    let minA = 1;
    let maxA = 0;
    for (let i = 0; i < 5000; i++) {
      const w = 200 + ((i * 31) % 800);
      const h = 200 + ((i * 17) % 800);
      const p = randomResizedCropPlan(w, h, rng);
      expect(p.left).toBeGreaterThanOrEqual(0);
      expect(p.top).toBeGreaterThanOrEqual(0);
      expect(p.left + p.width).toBeLessThanOrEqual(w);
      expect(p.top + p.height).toBeLessThanOrEqual(h);
      expect(p.outWidth).toBe(224);
      const area = (p.width * p.height) / (w * h);
      const ratio = p.width / p.height;
      // rounding of the box to integers moves area and ratio slightly
      const tol = 2 / Math.min(p.width, p.height) + 1e-9;
      expect(area).toBeGreaterThanOrEqual(0.08 * (1 - 2 * tol));
      expect(area).toBeLessThanOrEqual(1);
      const fallback = p.width === w && p.height === h;
      if (!fallback) {
        expect(ratio).toBeGreaterThanOrEqual((3 / 4) * (1 - tol));
        expect(ratio).toBeLessThanOrEqual((4 / 3) * (1 + tol));
      }
      minA = Math.min(minA, area);
      maxA = Math.max(maxA, area);
    }
    expect(minA).toBeLessThan(0.1);
    expect(maxA).toBeGreaterThan(0.9);
  });
  it('falls back to a ratio-clamped centre crop for extreme aspect ratios', () => {
    const rng = new Rng(2);
    const p = randomResizedCropPlan(1000, 50, rng, { scale: [0.99, 1] });
    expect(p.height).toBe(50);
    expect(p.width).toBe(Math.round(50 * (4 / 3)));
    expect(p.left).toBe(Math.floor((1000 - p.width) / 2));
  });
  it('uses shrink-on-load (resize first) only when the box shrinks at least 2x', () => {
    const base = { kind: 'crop-resize' as const, srcWidth: 2000, srcHeight: 1500, outWidth: 224, outHeight: 224, flip: false };
    const big = executionPlan({ ...base, left: 100, top: 200, width: 1000, height: 800 }, { shrinkOnLoad: true });
    expect(big.kind).toBe('resize-crop');
    const bb = sourceBox(big);
    expect(bb.x).toBeCloseTo(100, -1);
    expect(bb.y).toBeCloseTo(200, -1);
    expect(bb.width).toBeCloseTo(1000, -1);
    const small = executionPlan({ ...base, left: 100, top: 200, width: 300, height: 300 }, { shrinkOnLoad: true });
    expect(small.kind).toBe('crop-resize');
    expect(executionPlan({ ...base, left: 0, top: 0, width: 1000, height: 800 }, { shrinkOnLoad: false }).kind).toBe('crop-resize');
  });
});

describe('evaluation geometry', () => {
  it('resizes the shorter side to 256 and takes the centre 224 (torchvision rounding)', () => {
    const p = centerCropPlan(500, 375);
    expect([p.resizeWidth, p.resizeHeight]).toEqual([341, 256]);
    expect(p.left).toBe(roundHalfEven((341 - 224) / 2));
    expect(p.left).toBe(58);
    expect(p.top).toBe(16);
    const b = sourceBox(p);
    // centre of the crop within about one output pixel (1.46 source px) of the image centre
    expect(Math.abs(b.x + b.width / 2 - 250)).toBeLessThan(1.5);
    expect(Math.abs(b.y + b.height / 2 - 187.5)).toBeLessThan(1.5);
    const q = centerCropPlan(375, 500);
    expect([q.resizeWidth, q.resizeHeight, q.left, q.top]).toEqual([256, 341, 16, 58]);
    expect(resizeShorter(640, 480, 256)).toEqual({ width: 341, height: 256 });
    expect(roundHalfEven(2.5)).toBe(2);
    expect(roundHalfEven(3.5)).toBe(4);
    expect(roundHalfEven(3.2)).toBe(3);
  });
});

describe('header sniffing', () => {
  it('reads JPEG and PNG sizes and rejects other bytes', async () => {
    const sharp = (await import('sharp')).default;
    const img = sharp({ create: { width: 123, height: 45, channels: 3, background: '#808080' } });
    const jpeg = await img.clone().jpeg().withMetadata().toBuffer();
    const png = await img.clone().png().toBuffer();
    expect(readHeader(jpeg)).toEqual({ format: 'jpeg', width: 123, height: 45 });
    expect(readHeader(png)).toEqual({ format: 'png', width: 123, height: 45 });
    expect(readHeader(Buffer.from('hello world, not an image'))).toBeNull();
    expect(readHeader(jpeg.subarray(0, 10))).toBeNull();
  });
});
