/**
 * Crop geometry of the ImageNet transforms, as pure functions of the source size and a seeded
 * generator. A transform resolves to a {@link Plan}: either "resize the whole image, then cut a
 * window out of it" (scale augmentation, evaluation) or "cut a box out of the source, then resize
 * it" (random-resized-crop). The decoder may execute a plan in the other order when that lets
 * JPEG shrink-on-load do part of the work (see decode.ts).
 */
import type { Rng } from '@lm/data-core';

/** Uniform integer in [lo, hi], both inclusive. */
const between = (rng: Rng, lo: number, hi: number): number => lo + rng.int(hi - lo + 1);

/** Resize the whole image to `resizeWidth` x `resizeHeight`, then extract `width` x `height` at (left, top). */
export interface ResizeCropPlan {
  kind: 'resize-crop';
  srcWidth: number;
  srcHeight: number;
  resizeWidth: number;
  resizeHeight: number;
  left: number;
  top: number;
  width: number;
  height: number;
  flip: boolean;
}

/** Extract the source box (left, top, width, height), then resize it to `outWidth` x `outHeight`. */
export interface CropResizePlan {
  kind: 'crop-resize';
  srcWidth: number;
  srcHeight: number;
  left: number;
  top: number;
  width: number;
  height: number;
  outWidth: number;
  outHeight: number;
  flip: boolean;
}

export type Plan = ResizeCropPlan | CropResizePlan;

/** Output size of a plan. */
export function planOutput(p: Plan): { width: number; height: number } {
  return p.kind === 'resize-crop' ? { width: p.width, height: p.height } : { width: p.outWidth, height: p.outHeight };
}

/**
 * The region of the source image a plan reads, in source pixel coordinates (fractional for
 * resize-crop plans), with the scale factors source -> output.
 */
export function sourceBox(p: Plan): { x: number; y: number; width: number; height: number; scaleX: number; scaleY: number } {
  if (p.kind === 'crop-resize') {
    return { x: p.left, y: p.top, width: p.width, height: p.height, scaleX: p.outWidth / p.width, scaleY: p.outHeight / p.height };
  }
  const sx = p.resizeWidth / p.srcWidth;
  const sy = p.resizeHeight / p.srcHeight;
  return { x: p.left / sx, y: p.top / sy, width: p.width / sx, height: p.height / sy, scaleX: sx, scaleY: sy };
}

/** Size after resizing so the shorter side is `shorter` (the longer side is truncated, as torchvision's Resize does). */
export function resizeShorter(width: number, height: number, shorter: number): { width: number; height: number } {
  if (width <= height) return { width: shorter, height: Math.max(shorter, Math.floor((shorter * height) / width)) };
  return { width: Math.max(shorter, Math.floor((shorter * width) / height)), height: shorter };
}

export interface ScaleAugmentOptions {
  /** Output (crop) side, 224. */
  size?: number;
  /** Range of the shorter side after resizing, inclusive: [256, 480]. */
  minSize?: number;
  maxSize?: number;
}

/**
 * Scale augmentation of He et al. (ResNet) after Simonyan & Zisserman: the shorter side is drawn
 * uniformly from the integers [minSize, maxSize], then a random `size` x `size` window is cut out.
 * Draws, in order: shorter side, left, top, flip (when `flip` is requested).
 */
export function scaleAugmentPlan(srcWidth: number, srcHeight: number, rng: Rng, opts: ScaleAugmentOptions & { flip?: boolean } = {}): ResizeCropPlan & { shorter: number } {
  const size = opts.size ?? 224;
  const minSize = Math.max(opts.minSize ?? 256, size);
  const maxSize = Math.max(opts.maxSize ?? 480, minSize);
  const shorter = between(rng, minSize, maxSize);
  const r = resizeShorter(srcWidth, srcHeight, shorter);
  const left = between(rng, 0, r.width - size);
  const top = between(rng, 0, r.height - size);
  const flip = opts.flip ? rng.next() < 0.5 : false;
  return { kind: 'resize-crop', srcWidth, srcHeight, resizeWidth: r.width, resizeHeight: r.height, left, top, width: size, height: size, flip, shorter };
}

export interface RandomResizedCropOptions {
  size?: number;
  /** Range of the crop's area as a fraction of the image: [0.08, 1]. */
  scale?: [number, number];
  /** Range of the crop's aspect ratio (width / height): [3/4, 4/3], drawn log-uniformly. */
  ratio?: [number, number];
}

/**
 * torchvision's RandomResizedCrop.get_params: up to 10 attempts at a box of random area and
 * log-uniform aspect ratio that fits, else a centre crop clamped to the ratio range.
 */
export function randomResizedCropPlan(srcWidth: number, srcHeight: number, rng: Rng, opts: RandomResizedCropOptions & { flip?: boolean } = {}): CropResizePlan {
  const size = opts.size ?? 224;
  const [smin, smax] = opts.scale ?? [0.08, 1];
  const [rmin, rmax] = opts.ratio ?? [3 / 4, 4 / 3];
  const area = srcWidth * srcHeight;
  const lrmin = Math.log(rmin);
  const lrmax = Math.log(rmax);
  let box: { left: number; top: number; width: number; height: number } | undefined;
  for (let attempt = 0; attempt < 10 && !box; attempt++) {
    const target = area * rng.uniform(smin, smax);
    const aspect = Math.exp(rng.uniform(lrmin, lrmax));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && w <= srcWidth && h > 0 && h <= srcHeight) {
      const top = between(rng, 0, srcHeight - h);
      const left = between(rng, 0, srcWidth - w);
      box = { left, top, width: w, height: h };
    }
  }
  if (!box) {
    const inRatio = srcWidth / srcHeight;
    let w: number;
    let h: number;
    if (inRatio < rmin) {
      w = srcWidth;
      h = Math.round(w / rmin);
    } else if (inRatio > rmax) {
      h = srcHeight;
      w = Math.round(h * rmax);
    } else {
      w = srcWidth;
      h = srcHeight;
    }
    w = Math.min(w, srcWidth);
    h = Math.min(h, srcHeight);
    box = { left: Math.floor((srcWidth - w) / 2), top: Math.floor((srcHeight - h) / 2), width: w, height: h };
  }
  const flip = opts.flip ? rng.next() < 0.5 : false;
  return { kind: 'crop-resize', srcWidth, srcHeight, ...box, outWidth: size, outHeight: size, flip };
}

export interface CenterCropOptions {
  size?: number;
  /** Shorter side before the centre crop: 256 (or round(size * 256 / 224) for other sizes). */
  resize?: number;
}

/** Evaluation transform: shorter side to `resize`, centre `size` x `size` crop (torchvision Resize + CenterCrop). */
export function centerCropPlan(srcWidth: number, srcHeight: number, opts: CenterCropOptions = {}): ResizeCropPlan {
  const size = opts.size ?? 224;
  const resize = Math.max(opts.resize ?? Math.round((size * 256) / 224), size);
  const r = resizeShorter(srcWidth, srcHeight, resize);
  const left = roundHalfEven((r.width - size) / 2);
  const top = roundHalfEven((r.height - size) / 2);
  return { kind: 'resize-crop', srcWidth, srcHeight, resizeWidth: r.width, resizeHeight: r.height, left, top, width: size, height: size, flip: false };
}

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
