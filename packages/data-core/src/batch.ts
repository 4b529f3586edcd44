import type * as tf from '@tensorflow/tfjs-core';

/** One training or evaluation batch, as every @lm data package yields it. The consumer disposes the tensors. */
export interface Batch {
  /** [B, H, W, C] float32, normalised, NHWC. */
  xs: tf.Tensor4D;
  /** [B, K] float32 one-hot. */
  ys: tf.Tensor2D;
  /** The B integer labels. */
  labels: Int32Array;
}

/**
 * How to iterate one epoch of a split. A data package extends this with its own options (padding fill,
 * prefetching, epoch hooks) and may name further augmentations; `true` is always its training augmentation.
 */
export interface BatchOptions {
  batchSize: number;
  /** Visit the samples in a seeded random order (a permutation fixed by (seed, epoch)). */
  shuffle?: boolean;
  /** true: the package's training augmentation; false: the single evaluation view. */
  augment?: boolean | string;
  /** Seed of the shuffle and the augmentation (default 0). */
  seed?: number;
  /** Epoch number: each (seed, epoch) gives its own reproducible order and augmentation (default 0). */
  epoch?: number;
  /** Drop a last incomplete batch (default false). */
  dropLast?: boolean;
  /** Resume inside an epoch: start at this batch of the epoch's order (default 0). */
  startBatch?: number;
}

/** A split of a dataset: its size and its batches. */
export interface Split<O extends BatchOptions = BatchOptions> {
  readonly size: number;
  batches(opts: O): AsyncIterable<Batch>;
}

/** Number of batches of an epoch of `size` samples. */
export function batchCount(size: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(size / batchSize) : Math.ceil(size / batchSize);
}
