import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { ArraySplit } from '@lm/data-cifar';
import { beforeAll, describe, expect, it } from 'vitest';
import { evalBatchRange, shardedSplit, shareOf } from '../src/distributed/shard';

/** A split of `n` images whose label is the image's index (so a batch's labels say which images it holds). */
function indexedSplit(n: number): ArraySplit {
  const labels = Int32Array.from({ length: n }, (_, i) => i);
  return new ArraySplit(new Uint8Array(n * 32 * 32 * 3), labels, n, { mean: [0, 0, 0], std: [1, 1, 1] });
}

/** The image indices each of `size` ranks visits in one epoch, step by step. */
async function visits(split: ArraySplit, size: number, batchSize: number, seed: number, epoch: number): Promise<number[][][]> {
  const out: number[][][] = [];
  for (let rank = 0; rank < size; rank++) {
    const steps: number[][] = [];
    for await (const b of shardedSplit(split, rank, size).batches({ batchSize, shuffle: true, augment: true, seed, epoch, dropLast: true })) {
      expect(b.xs.shape[0]).toBe(b.labels.length);
      steps.push(Array.from(b.labels));
      tf.dispose([b.xs, b.ys]);
    }
    out.push(steps);
  }
  return out;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('rank-sharded data order', () => {
  it('visits every image exactly once per epoch across ranks, each step a share of the same global batch', async () => {
    const split = indexedSplit(120);
    for (const size of [2, 3, 4]) {
      const v = await visits(split, size, 24, 7, 0);
      const all = v.flat(2).sort((a, b) => a - b);
      expect(all).toEqual(Array.from({ length: 120 }, (_, i) => i));
      v.forEach((steps) => {
        expect(steps).toHaveLength(5);
        steps.forEach((s) => expect(s).toHaveLength(24 / size));
      });
      // step k of all ranks together is global batch k of the single-process order
      const single = (await visits(split, 1, 24, 7, 0))[0]!;
      for (let k = 0; k < 5; k++) expect(v.map((steps) => steps[k]!).flat()).toEqual(single[k]);
    }
  });

  it('is reproducible from the seed and differs between epochs and seeds', async () => {
    const split = indexedSplit(64);
    const a = await visits(split, 2, 16, 3, 1);
    expect(await visits(split, 2, 16, 3, 1)).toEqual(a);
    expect(await visits(split, 2, 16, 3, 2)).not.toEqual(a);
    expect(await visits(split, 2, 16, 4, 1)).not.toEqual(a);
  });

  it('needs a global batch that splits evenly, and names --batch-size otherwise', () => {
    expect(shareOf(12, 2, 3)).toEqual({ begin: 8, end: 12 });
    expect(() => shareOf(10, 0, 4)).toThrow(/--batch-size 10 \(the global batch\) must be a multiple of the number of ranks \(4\)/);
  });

  it('splits evaluation batches into contiguous ranges that cover every batch once', () => {
    for (const [n, size] of [[10, 3], [1, 2], [7, 7], [5, 8]] as const) {
      const covered: number[] = [];
      for (let r = 0; r < size; r++) {
        const { begin, end } = evalBatchRange(n, r, size);
        for (let b = begin; b < end; b++) covered.push(b);
      }
      expect(covered).toEqual(Array.from({ length: n }, (_, i) => i));
    }
  });
});
