import * as tf from '@tensorflow/tfjs-core';
import type { Batch, BatchOptions, Split } from '../data/datasets';
import { OptionError } from '../errors';

/** Rows [begin, end) of a global batch of `batchSize` that `rank` of `size` trains on: contiguous, equal shares. */
export function shareOf(batchSize: number, rank: number, size: number): { begin: number; end: number } {
  if (batchSize % size !== 0) {
    throw new OptionError('--batch-size', `--batch-size ${batchSize} (the global batch) must be a multiple of the number of ranks (${size})`);
  }
  const per = batchSize / size;
  return { begin: rank * per, end: (rank + 1) * per };
}

/**
 * A training split seen by one rank: the underlying split's epoch order (seeded by seed and epoch, identical on
 * every rank) is cut into global batches of `batchSize`, and this rank yields its share of each. Over the ranks,
 * each global batch, and so each image of the epoch, is visited exactly once. Position (`startBatch`) is in global
 * batches, so a checkpoint resumes on any number of ranks.
 */
export function shardedSplit(split: Split, rank: number, size: number): Split {
  return {
    size: split.size,
    batches(opts: BatchOptions): AsyncIterable<Batch> {
      const { begin, end } = shareOf(opts.batchSize, rank, size);
      const inner = split.batches(opts);
      return {
        async *[Symbol.asyncIterator]() {
          for await (const b of inner) {
            const n = b.labels.length;
            const lo = Math.min(begin, n);
            const hi = Math.min(end, n);
            const xs = tf.slice(b.xs, [lo, 0, 0, 0], [hi - lo, -1, -1, -1]);
            const ys = tf.slice(b.ys, [lo, 0], [hi - lo, -1]);
            const labels = b.labels.slice(lo, hi);
            tf.dispose([b.xs, b.ys]);
            yield { xs, ys, labels };
          }
        },
      };
    },
  };
}

/** Batches [begin, end) of an evaluation pass of `numBatches` batches that `rank` of `size` evaluates. */
export function evalBatchRange(numBatches: number, rank: number, size: number): { begin: number; end: number } {
  return { begin: Math.floor((rank * numBatches) / size), end: Math.floor(((rank + 1) * numBatches) / size) };
}
