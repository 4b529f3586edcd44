/**
 * A labelled list of image files as an epoch of augmented, normalised batches.
 *
 * Decoding runs on libuv's thread pool (the libjpeg-turbo addon for JPEGs when it is built, sharp for
 * everything else) with at most `concurrency` images in flight, and at most
 * `prefetch` batches are prepared ahead of the one the consumer holds, so memory stays bounded
 * while the consumer (the training step) rarely waits. Each image's augmentation is drawn from a
 * generator seeded by (seed, epoch, sample index), and batches are assembled by slot, so the output
 * does not depend on the order in which decodes finish.
 */
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { DEFAULT_DECODE, decodeRaw, imageSize, normalisationLut, normaliseInto, type DecodeSettings } from './decode.js';
import { decodeRegionNative, type NativeJpegAddon } from './native-jpeg.js';
import { centerCropPlan, randomResizedCropPlan, scaleAugmentPlan, type Plan } from './geometry.js';
import { batchCount, deriveSeed, permutation, Rng, type Batch, type BatchOptions as CommonBatchOptions, type Split } from '@lm/data-core';

export type RGB = [number, number, number];
export type Augment = boolean | 'scale' | 'random-resized-crop';

export type { Batch };

/** The batch contract's options (@lm/data-core) and ImageNet's own; shuffle and augment default to true for training. */
export interface BatchOptions extends CommonBatchOptions {
  /**
   * true or 'scale': scale augmentation (shorter side in [256, 480], random crop) with flip;
   * 'random-resized-crop': area in [0.08, 1], ratio in [3/4, 4/3], with flip; false: the evaluation
   * transform (shorter side 256, centre crop). Default: true for training, false otherwise.
   */
  augment?: Augment;
  /** Called once the epoch has been iterated to its end. */
  onEpochEnd?: (summary: EpochSummary) => void;
}

export interface RawBatchOptions {
  /**
   * Cycle a fixed set of prefetch + 1 buffers instead of allocating each batch: a batch's `xs` is
   * then valid only until the next batch is requested. Default false.
   */
  reuseBuffers?: boolean;
  /** Custom allocator of batch buffers (`floats` = images x H x W x 3); takes precedence over reuseBuffers. */
  allocate?: (floats: number) => Float32Array;
}

/** A batch as plain arrays (what {@link ImageFolderSplit.batches} turns into tensors). */
export interface RawBatch {
  /** count * H * W * 3 floats, NHWC. */
  xs: Float32Array;
  labels: Int32Array;
  /** Dataset indices of the samples, in batch order. */
  indices: Int32Array;
  count: number;
  /** Index of this batch in the epoch's order. */
  batch: number;
}

export interface EpochSummary {
  epoch: number;
  batches: number;
  images: number;
  /** Unreadable images left out this epoch. */
  skipped: number;
  skippedFiles: string[];
  seconds: number;
  imagesPerSecond: number;
  /** Images decoded by each decoder this epoch (sharp: non-JPEGs, CMYK, damaged files, or no addon). */
  decodedBy: Record<DecodedBy, number>;
}

export type DecodedBy = 'libjpeg-turbo' | 'sharp' | 'custom';

interface DecodedTile {
  data: Uint8Array;
  width: number;
  height: number;
  /** The normalisation pass mirrors the tile. */
  flip: boolean;
  by: DecodedBy;
}

/** The tile was decoded, normalised and written straight into the batch. */
interface WrittenTile {
  written: true;
  by: DecodedBy;
}

/** Where a tile goes: floats [offset, offset + size^2 * 3) of `data`. */
interface TileTarget {
  data: Float32Array;
  offset: number;
}

export interface DecodeEvent {
  /** Dataset index of the sample. */
  index: number;
  /** Position in the epoch order. */
  position: number;
  file: string;
}

/** Instrumentation: called as each decode starts and ends (in flight = starts - ends). */
export interface PipelineHooks {
  onDecodeStart?: (e: DecodeEvent) => void;
  onDecodeEnd?: (e: DecodeEvent & { ok: boolean }) => void;
}

/**
 * Decodes one file to raw 8-bit RGB of the plan's output size; replaceable for tests. `flip: true`
 * in the result asks the normalisation pass to mirror the tile (the sharp decoder mirrors it itself
 * and returns false).
 */
export type RawDecoder = (file: string, planFor: (width: number, height: number) => Plan) => Promise<{ data: Uint8Array; width: number; height: number; flip: boolean }>;

export interface SplitConfig {
  numClasses: number;
  /** Output side, 224. */
  imageSize: number;
  mean: RGB;
  std: RGB;
  /** Images decoded at once. */
  concurrency: number;
  /** Batches prepared ahead of the one being consumed. */
  prefetch: number;
  onCorrupt: 'skip' | 'fail';
  decode: DecodeSettings;
  /** Scale augmentation range of the shorter side. */
  scaleRange: [number, number];
  /** Random-resized-crop ranges. */
  rrcScale: [number, number];
  rrcRatio: [number, number];
  /** Shorter side before the evaluation centre crop. */
  evalResize: number;
  /** Horizontal flip with probability 1/2 when augmenting. */
  flip: boolean;
  warn: (message: string) => void;
  hooks?: PipelineHooks;
  /** The libjpeg-turbo addon, when JPEG plans run on it (see resolveJpegDecoder). */
  nativeJpeg?: NativeJpegAddon;
  decoder?: RawDecoder;
}

/** A split of the batch contract (@lm/data-core) that also exposes its files and labels. */
export interface ImageFolderSplit extends Split<BatchOptions> {
  readonly files: readonly string[];
  readonly labels: Int32Array;
}

export class CorruptImageError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`unreadable image ${file}: ${reason}`);
    this.name = 'CorruptImageError';
  }
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // observed by whoever awaits it
  return { promise, resolve, reject };
}

/** Stream ids mixed into the seeds. */
const SHUFFLE_STREAM = 0x5348;
const AUGMENT_STREAM = 0x4155;

export { batchCount };

/** Sample order of an epoch: identity, or a permutation seeded by (seed, epoch). */
export function epochOrder(size: number, shuffle: boolean, seed: number, epoch: number): Int32Array {
  if (!shuffle) {
    const o = new Int32Array(size);
    for (let i = 0; i < size; i++) o[i] = i;
    return o;
  }
  return Int32Array.from(permutation(size, new Rng(deriveSeed(seed, epoch, SHUFFLE_STREAM))));
}

export class ImageFolder implements ImageFolderSplit {
  readonly labels: Int32Array;
  /** Summary of the last epoch iterated to its end. */
  lastEpoch: EpochSummary | undefined;
  private readonly lut: Float32Array;
  private readonly warned = new Set<string>();
  /** Source sizes learnt on first decode (0 = unknown): later epochs hand sharp the path directly. */
  private readonly widths: Int32Array;
  private readonly heights: Int32Array;

  constructor(
    readonly files: readonly string[],
    labels: ArrayLike<number>,
    readonly config: SplitConfig,
    /** Defaults of `shuffle` and `augment`: true for a training split. */
    readonly training: boolean,
  ) {
    if (files.length !== labels.length) throw new Error(`${files.length} files but ${labels.length} labels`);
    this.labels = Int32Array.from(labels);
    this.lut = normalisationLut(config.mean, config.std);
    this.widths = new Int32Array(files.length);
    this.heights = new Int32Array(files.length);
  }

  get size(): number {
    return this.files.length;
  }

  /** The geometry plan of sample `index` for a source of the given size. */
  planFor(index: number, width: number, height: number, augment: Augment, seed: number, epoch: number): Plan {
    const c = this.config;
    const size = c.imageSize;
    if (augment === false) return centerCropPlan(width, height, { size, resize: c.evalResize });
    const rng = new Rng(deriveSeed(seed, epoch, index, AUGMENT_STREAM));
    if (augment === 'random-resized-crop') return randomResizedCropPlan(width, height, rng, { size, scale: c.rrcScale, ratio: c.rrcRatio, flip: c.flip });
    return scaleAugmentPlan(width, height, rng, { size, minSize: c.scaleRange[0], maxSize: c.scaleRange[1], flip: c.flip });
  }

  /** Decodes one image: written into `target` by the libjpeg-turbo addon, or returned as raw RGB for the caller to normalise. */
  private async decodeOne(index: number, planFor: (w: number, h: number) => Plan, target: TileTarget): Promise<DecodedTile | WrittenTile> {
    const file = this.files[index];
    if (this.config.decoder) return { ...(await this.config.decoder(file, planFor)), by: 'custom' };
    let src: Buffer | string = file;
    let width = this.widths[index];
    let height = this.heights[index];
    if (!width) {
      // first sight: read the bytes once to learn the size from the header
      src = await readFile(file);
      ({ width, height } = await imageSize(src, this.config.decode));
      this.widths[index] = width;
      this.heights[index] = height;
    }
    const plan = planFor(width, height);
    const native = this.config.nativeJpeg;
    if (native && (await decodeRegionNative(native, src, plan, this.config.decode, { ...target, lut: this.lut })) === true) return { written: true, by: 'libjpeg-turbo' };
    const tile = await decodeRaw(src, plan, this.config.decode); // mirrored by sharp when plan.flip
    return { data: tile.data, width: tile.width, height: tile.height, flip: false, by: 'sharp' };
  }

  /** One sample as a normalised [H, W, 3] float32 array (no tensors). */
  async sample(index: number, opts: { augment?: Augment; seed?: number; epoch?: number } = {}): Promise<Float32Array> {
    const augment = opts.augment ?? false;
    const aug = augment === true ? 'scale' : augment;
    const s = this.config.imageSize;
    const out = new Float32Array(s * s * 3);
    const t = await this.decodeOne(index, (w, h) => this.planFor(index, w, h, aug, opts.seed ?? 0, opts.epoch ?? 0), { data: out, offset: 0 });
    if (!('written' in t)) normaliseInto(t.data, t.width, t.height, t.flip, this.lut, out, 0);
    return out;
  }

  /** The epoch as plain Float32Array batches, in sampling order. */
  async *rawBatches(opts: BatchOptions & RawBatchOptions): AsyncGenerator<RawBatch, EpochSummary | undefined> {
    const started = performance.now();
    const c = this.config;
    const B = opts.batchSize;
    if (!Number.isInteger(B) || B <= 0) throw new Error(`batchSize must be a positive integer, got ${B}`);
    const seed = opts.seed ?? 0;
    const epoch = opts.epoch ?? 0;
    const shuffle = opts.shuffle ?? this.training;
    const augRaw = opts.augment ?? this.training;
    const augment: Augment = augRaw === true ? 'scale' : augRaw;
    const order = epochOrder(this.size, shuffle, seed, epoch);
    const nBatches = batchCount(this.size, B, opts.dropLast);
    const startBatch = opts.startBatch ?? 0;
    if (!Number.isInteger(startBatch) || startBatch < 0) throw new Error(`startBatch must be a non-negative integer, got ${startBatch}`);
    const end = Math.min(this.size, nBatches * B);
    const S = c.imageSize;
    const tile = S * S * 3;
    const concurrency = Math.max(1, Math.floor(c.concurrency));
    const prefetch = Math.max(1, Math.floor(c.prefetch));
    // with reuseBuffers, prefetch + 1 buffers cycle: those being filled and the one the consumer holds
    const ring: Float32Array[] = [];
    let ringNext = 0;
    const alloc =
      opts.allocate ??
      (opts.reuseBuffers
        ? (n: number): Float32Array => {
            if (ring.length < prefetch + 1) ring.push(new Float32Array(B * tile));
            const buf = ring[ringNext];
            ringNext = (ringNext + 1) % (prefetch + 1);
            return buf.subarray(0, n);
          }
        : (n: number): Float32Array => new Float32Array(n));

    interface Slotted {
      xs: Float32Array;
      ok: Uint8Array;
      pending: number;
      done: Deferred;
    }
    const pending = new Map<number, Slotted>();
    let nextPos = startBatch * B;
    let inFlight = 0;
    let consumed = startBatch; // batches handed to the consumer
    let stopped = false;
    let fatal: unknown;
    const skippedFiles: string[] = [];
    const decodedBy: Record<DecodedBy, number> = { 'libjpeg-turbo': 0, sharp: 0, custom: 0 };
    let images = 0;
    let batches = 0;

    const batchSlots = (b: number): Slotted => {
      let s = pending.get(b);
      if (!s) {
        const count = Math.min(B, end - b * B);
        s = { xs: alloc(count * tile), ok: new Uint8Array(count), pending: count, done: deferred() };
        pending.set(b, s);
      }
      return s;
    };

    const finishSlot = (b: number): void => {
      const s = pending.get(b)!;
      if (--s.pending === 0) s.done.resolve();
    };

    const pump = (): void => {
      while (!stopped && inFlight < concurrency && nextPos < end && Math.floor(nextPos / B) < consumed + prefetch) {
        const pos = nextPos++;
        const b = Math.floor(pos / B);
        const slot = pos - b * B;
        const slots = batchSlots(b);
        const index = order[pos];
        const file = this.files[index];
        const ev: DecodeEvent = { index, position: pos, file };
        inFlight++;
        c.hooks?.onDecodeStart?.(ev);
        this.decodeOne(index, (w, h) => this.planFor(index, w, h, augment, seed, epoch), { data: slots.xs, offset: slot * tile }).then(
          (t) => {
            inFlight--;
            c.hooks?.onDecodeEnd?.({ ...ev, ok: true });
            if ('written' in t) {
              slots.ok[slot] = 1;
              decodedBy[t.by]++;
              finishSlot(b);
            } else if (t.width !== S || t.height !== S) {
              fail(b, file, new Error(`decoded to ${t.width}x${t.height}, expected ${S}x${S}`));
            } else {
              normaliseInto(t.data, t.width, t.height, t.flip, this.lut, slots.xs, slot * tile);
              slots.ok[slot] = 1;
              decodedBy[t.by]++;
              finishSlot(b);
            }
            pump();
          },
          (e: unknown) => {
            inFlight--;
            c.hooks?.onDecodeEnd?.({ ...ev, ok: false });
            fail(b, file, e);
            pump();
          },
        );
      }
    };

    const fail = (b: number, file: string, e: unknown): void => {
      const reason = e instanceof Error ? e.message : String(e);
      if (c.onCorrupt === 'fail') {
        const err = new CorruptImageError(file, reason);
        if (!fatal) fatal = err;
        stopped = true;
        pending.get(b)!.done.reject(err);
        return;
      }
      skippedFiles.push(file);
      if (!this.warned.has(file)) {
        this.warned.add(file);
        c.warn(`[data-imagenet] skipping unreadable image ${file}: ${reason.split('\n')[0]}`);
      }
      finishSlot(b);
    };

    try {
      for (let b = startBatch; b < nBatches; b++) {
        pump();
        const slots = batchSlots(b);
        await slots.done.promise;
        if (fatal) throw fatal;
        pending.delete(b);
        consumed = b + 1;
        pump(); // start the next batches before handing this one over
        const count = slots.ok.length;
        const labels = new Int32Array(count);
        const indices = new Int32Array(count);
        let k = 0;
        let xs = slots.xs;
        for (let i = 0; i < count; i++) {
          if (!slots.ok[i]) continue;
          if (k !== i) xs.copyWithin(k * tile, i * tile, (i + 1) * tile);
          indices[k] = order[b * B + i];
          labels[k] = this.labels[indices[k]];
          k++;
        }
        if (k === 0) continue;
        if (k < count) xs = xs.subarray(0, k * tile);
        images += k;
        batches++;
        yield { xs, labels: k < count ? labels.slice(0, k) : labels, indices: k < count ? indices.slice(0, k) : indices, count: k, batch: b };
      }
    } finally {
      stopped = true;
    }
    const seconds = (performance.now() - started) / 1000;
    const summary: EpochSummary = { epoch, batches, images, skipped: skippedFiles.length, skippedFiles, seconds, imagesPerSecond: images / seconds, decodedBy };
    this.lastEpoch = summary;
    if (summary.skipped > 0) c.warn(`[data-imagenet] epoch ${epoch}: ${summary.skipped} unreadable image(s) skipped, ${images} used`);
    opts.onEpochEnd?.(summary);
    return summary;
  }

  /**
   * The epoch as tensor batches: xs [B, S, S, 3] float32 normalised, ys one-hot [B, K]. The consumer
   * disposes them. Batch buffers are recycled once their tensor is disposed and its data released by
   * the backend (reference count 0), which saves the page faults of a fresh 38 MB buffer per batch of
   * 64; a tensor that is kept (or shares its data with a kept tensor) keeps its buffer.
   */
  async *batches(opts: BatchOptions): AsyncGenerator<Batch, void> {
    const S = this.config.imageSize;
    const K = this.config.numClasses;
    const full = opts.batchSize * S * S * 3;
    const pool: { buf: Float32Array; busy: boolean; tensor?: tf.Tensor }[] = [];
    const cap = Math.max(1, Math.floor(this.config.prefetch)) + 3;
    const released = (t: tf.Tensor): boolean => {
      if (!t.isDisposed) return false;
      const backend = tf.engine().backend as unknown as { refCount?: (dataId: object) => number };
      return typeof backend.refCount === 'function' && backend.refCount(t.dataId) === 0;
    };
    const allocate = (n: number): Float32Array => {
      for (const e of pool) {
        if (!e.busy && (!e.tensor || released(e.tensor))) {
          e.busy = true;
          e.tensor = undefined;
          return e.buf.subarray(0, n);
        }
      }
      if (pool.length < cap) {
        const e = { buf: new Float32Array(full), busy: true };
        pool.push(e);
        return e.buf.subarray(0, n);
      }
      return new Float32Array(n);
    };
    for await (const rb of this.rawBatches({ ...opts, allocate })) {
      const oneHot = new Float32Array(rb.count * K);
      for (let i = 0; i < rb.count; i++) oneHot[i * K + rb.labels[i]] = 1;
      const xs = tf.tensor4d(rb.xs, [rb.count, S, S, 3], 'float32');
      const entry = pool.find((e) => e.buf.buffer === rb.xs.buffer);
      if (entry) {
        entry.busy = false;
        entry.tensor = xs;
      }
      yield { xs, ys: tf.tensor2d(oneHot, [rb.count, K], 'float32'), labels: rb.labels };
    }
  }
}
