/** Splits, epoch plans (seeded shuffle + augmentation parameters) and fast batch assembly. */
import * as tf from '@tensorflow/tfjs-core';
import { IMAGE_BYTES, SIDE } from './format.js';
import { batchCount, deriveSeed, permutation, Rng, type Batch, type BatchOptions as CommonBatchOptions, type Split } from '@lm/data-core';
import { STREAM_AUGMENT, STREAM_SHUFFLE } from './streams.js';

export type RGB = [number, number, number];

export type { Batch };

/** The batch contract's options (@lm/data-core) and CIFAR's own; shuffle defaults to false (file order). */
export interface BatchOptions extends CommonBatchOptions {
  /** Pad 4 + random 32x32 crop + random horizontal flip (default false: the single unaugmented view). */
  augment?: boolean;
  /** Assemble the next batch ahead while the consumer works (default true). */
  prefetch?: boolean;
  /** Fill for the 4-pixel padding: 'black' = raw pixel 0 before normalisation (default), 'mean' = 0 after normalisation. */
  padFill?: 'black' | 'mean';
}

/** A split of the batch contract (@lm/data-core) that also exposes its raw images and labels. */
export interface CifarSplit extends Split<BatchOptions> {
  /** N*32*32*3 bytes, HWC interleaved. */
  readonly images: Uint8Array;
  readonly labels: Int32Array;
  /** Number of batches of one epoch (before `startBatch`). */
  batchCount(batchSize: number, dropLast?: boolean): number;
}

/** The complete, deterministic plan of one epoch: sample order and per-sample crop offsets and flips. */
export interface EpochPlan {
  /** Sample indices in visiting order (length = number of samples visited, after dropLast). */
  order: Uint32Array;
  /** Crop offsets into the 40x40 padded image, 0..8 (4 = centred, i.e. no shift). */
  dx: Uint8Array;
  dy: Uint8Array;
  /** 1 = mirror horizontally. */
  flip: Uint8Array;
  batchSize: number;
  numBatches: number;
  augment: boolean;
}

export const PAD = 4;

export { batchCount };

/** Builds the plan of epoch `epoch` for a split of `size` samples; same inputs, same plan. */
export function epochPlan(size: number, opts: BatchOptions): EpochPlan {
  const { batchSize } = opts;
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const seed = opts.seed ?? 0;
  const epoch = opts.epoch ?? 0;
  const numBatches = batchCount(size, batchSize, opts.dropLast ?? false);
  const visited = Math.min(size, numBatches * batchSize);
  let order: Uint32Array;
  if (opts.shuffle) order = permutation(size, new Rng(deriveSeed(seed, epoch, STREAM_SHUFFLE))).subarray(0, visited);
  else {
    order = new Uint32Array(visited);
    for (let i = 0; i < visited; i++) order[i] = i;
  }
  const augment = opts.augment ?? false;
  const dx = new Uint8Array(visited);
  const dy = new Uint8Array(visited);
  const flip = new Uint8Array(visited);
  if (augment) {
    const rng = new Rng(deriveSeed(seed, epoch, STREAM_AUGMENT));
    for (let i = 0; i < visited; i++) {
      // One 32-bit draw per sample: 9*9*2 = 162 outcomes, rejection-sampled without bias.
      const v = rng.int(162);
      dx[i] = v % 9;
      dy[i] = Math.floor(v / 9) % 9;
      flip[i] = v >= 81 ? 1 : 0;
    }
  } else {
    dx.fill(PAD);
    dy.fill(PAD);
  }
  return { order, dx, dy, flip, batchSize, numBatches, augment };
}

/** Lookup table byte -> normalised float per channel: lut[c*256 + v] = (v/255 - mean[c]) / std[c]. */
export function normalisationLut(mean: RGB, std: RGB): Float32Array {
  const lut = new Float32Array(768);
  for (let c = 0; c < 3; c++) {
    const s = std[c] > 0 ? std[c] : 1; // a constant channel is only centred
    for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v / 255 - mean[c]) / s;
  }
  return lut;
}

/**
 * Writes the normalised, cropped and possibly flipped image `src` (HWC bytes at `srcOff`) into `out` at `outOff`.
 * The image is conceptually padded by 4 pixels of `pad` values on each side (40x40); the 32x32 window at
 * (dx, dy) of the padded image is taken, then mirrored when `flip`.
 */
export function augmentInto(
  out: Float32Array,
  outOff: number,
  src: Uint8Array,
  srcOff: number,
  dx: number,
  dy: number,
  flip: boolean,
  lut: Float32Array,
  pad: RGB,
): void {
  const ox = dx - PAD;
  const oy = dy - PAD;
  const p0 = pad[0];
  const p1 = pad[1];
  const p2 = pad[2];
  if (ox === 0 && oy === 0 && !flip) {
    for (let j = 0; j < IMAGE_BYTES; j += 3) {
      out[outOff + j] = lut[src[srcOff + j]];
      out[outOff + j + 1] = lut[256 + src[srcOff + j + 1]];
      out[outOff + j + 2] = lut[512 + src[srcOff + j + 2]];
    }
    return;
  }
  let o = outOff;
  for (let y = 0; y < SIDE; y++) {
    const sy = y + oy;
    if (sy < 0 || sy >= SIDE) {
      for (let x = 0; x < SIDE; x++) {
        out[o] = p0;
        out[o + 1] = p1;
        out[o + 2] = p2;
        o += 3;
      }
      continue;
    }
    const row = srcOff + sy * SIDE * 3;
    for (let x = 0; x < SIDE; x++) {
      const sx = (flip ? SIDE - 1 - x : x) + ox;
      if (sx < 0 || sx >= SIDE) {
        out[o] = p0;
        out[o + 1] = p1;
        out[o + 2] = p2;
      } else {
        const s = row + sx * 3;
        out[o] = lut[src[s]];
        out[o + 1] = lut[256 + src[s + 1]];
        out[o + 2] = lut[512 + src[s + 2]];
      }
      o += 3;
    }
  }
}

interface HostBatch {
  x: Float32Array;
  y: Float32Array;
  labels: Int32Array;
  n: number;
}

/** An in-memory split of HWC images and integer labels. */
export class ArraySplit implements CifarSplit {
  readonly size: number;
  private lutCache?: Float32Array;

  constructor(
    readonly images: Uint8Array,
    readonly labels: Int32Array,
    readonly numClasses: number,
    private readonly norm: { mean: RGB; std: RGB },
    /** CIFAR-100: both label sets, whatever `labels` holds. */
    readonly extra: { fineLabels?: Int32Array; coarseLabels?: Int32Array } = {},
  ) {
    if (images.length !== labels.length * IMAGE_BYTES) {
      throw new RangeError(`images holds ${images.length} bytes, expected ${labels.length} x ${IMAGE_BYTES}`);
    }
    this.size = labels.length;
  }

  get fineLabels(): Int32Array | undefined {
    return this.extra.fineLabels;
  }
  get coarseLabels(): Int32Array | undefined {
    return this.extra.coarseLabels;
  }

  private lut(): Float32Array {
    return (this.lutCache ??= normalisationLut(this.norm.mean, this.norm.std));
  }

  /** Number of batches an epoch with these options yields (before `startBatch`). */
  batchCount(batchSize: number, dropLast = false): number {
    return batchCount(this.size, batchSize, dropLast);
  }

  /** The plan of one epoch (order, crop offsets, flips): for inspection and tests. */
  plan(opts: BatchOptions): EpochPlan {
    return epochPlan(this.size, opts);
  }

  /** Assembles batch `bi` of `plan` on the host (no tensors). */
  hostBatch(plan: EpochPlan, bi: number, padFill: 'black' | 'mean' = 'black'): HostBatch {
    const lut = this.lut();
    const pad: RGB = padFill === 'mean' ? [0, 0, 0] : [lut[0], lut[256], lut[512]];
    const start = bi * plan.batchSize;
    const end = Math.min(start + plan.batchSize, plan.order.length);
    const n = end - start;
    const K = this.numClasses;
    const x = new Float32Array(n * IMAGE_BYTES);
    const y = new Float32Array(n * K);
    const labels = new Int32Array(n);
    const { order, dx, dy, flip } = plan;
    for (let b = 0; b < n; b++) {
      const k = start + b;
      const idx = order[k];
      augmentInto(x, b * IMAGE_BYTES, this.images, idx * IMAGE_BYTES, dx[k], dy[k], flip[k] === 1, lut, pad);
      const l = this.labels[idx];
      labels[b] = l;
      y[b * K + l] = 1;
    }
    return { x, y, labels, n };
  }

  batches(opts: BatchOptions): AsyncIterable<Batch> {
    const self = this;
    const plan = epochPlan(this.size, opts);
    const start = opts.startBatch ?? 0;
    if (!Number.isInteger(start) || start < 0) throw new RangeError(`startBatch must be a non-negative integer, got ${start}`);
    const prefetch = opts.prefetch ?? true;
    const padFill = opts.padFill ?? 'black';
    const K = this.numClasses;
    return {
      async *[Symbol.asyncIterator]() {
        let ahead: Promise<HostBatch> | undefined;
        for (let bi = start; bi < plan.numBatches; bi++) {
          const h = ahead ? await ahead : self.hostBatch(plan, bi, padFill);
          ahead = undefined;
          if (prefetch && bi + 1 < plan.numBatches) {
            const next = bi + 1;
            ahead = new Promise((resolve, reject) =>
              setImmediate(() => {
                try {
                  resolve(self.hostBatch(plan, next, padFill));
                } catch (e) {
                  reject(e);
                }
              }),
            );
            ahead.catch(() => undefined); // surfaced when awaited; no unhandled rejection if the consumer stops early
          }
          const xs = tf.tensor4d(h.x, [h.n, SIDE, SIDE, 3], 'float32');
          const ys = tf.tensor2d(h.y, [h.n, K], 'float32');
          yield { xs, ys, labels: h.labels };
        }
      },
    };
  }
}

/** Per-channel mean and (population) std of HWC images in [0,1] units, computed exactly from byte histograms. */
export function channelStats(images: Uint8Array): { mean: RGB; std: RGB } {
  const h0 = new Float64Array(256);
  const h1 = new Float64Array(256);
  const h2 = new Float64Array(256);
  const n = images.length;
  for (let i = 0; i < n; i += 3) {
    h0[images[i]]++;
    h1[images[i + 1]]++;
    h2[images[i + 2]]++;
  }
  const mean: RGB = [0, 0, 0];
  const std: RGB = [0, 0, 0];
  const pix = n / 3;
  [h0, h1, h2].forEach((h, c) => {
    let s = 0;
    let s2 = 0;
    for (let v = 0; v < 256; v++) {
      s += v * h[v];
      s2 += v * v * h[v];
    }
    const m = s / pix;
    const variance = Math.max(0, s2 / pix - m * m);
    mean[c] = m / 255;
    std[c] = Math.sqrt(variance) / 255;
  });
  return { mean, std };
}
