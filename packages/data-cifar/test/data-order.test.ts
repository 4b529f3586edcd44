import { describe, expect, it } from 'vitest';
import { carveIndices, epochPlan, syntheticCifar } from '../src/index.js';

/** FNV-1a over the 16-bit halves of every value: a digest of a data order. */
function digest(arrays: ArrayLike<number>[]): string {
  let h = 0x811c9dc5;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      for (const half of [a[i]! & 0xffff, a[i]! >>> 16]) {
        h ^= half;
        h = Math.imul(h, 0x01000193) >>> 0;
      }
    }
  }
  return h.toString(16);
}

/**
 * The data order of a seed is part of what a run is: a checkpoint resumed mid-epoch continues the same order.
 * These digests were computed with @lm/data-cifar 0.1.0, whose generator lived in the package, before it moved
 * to @lm/data-core; they pin that the move changed no shuffle, augmentation, validation split or synthetic image.
 */
const BEFORE_THE_MOVE: Record<string, string> = {
  'plan 0 0': '1f9b9391', 'plan 0 3': '88269503', 'plan 1 0': '8e6f3389', 'plan 1 3': 'fecc6bf2',
  'plan 12345 0': '9c67a0b2', 'plan 12345 3': '3c143752', 'plan 8589934597 0': '60ea6ca9', 'plan 8589934597 3': 'c71e0e0c',
  synthetic: 'b761c412', carve: 'b6f59c9d',
};

describe('data order for a given seed', () => {
  it('is what it was before the generator moved to @lm/data-core (shuffle, crops and flips, split, synthetic data)', () => {
    const now: Record<string, string> = {};
    for (const seed of [0, 1, 12345, 2 ** 33 + 5]) {
      for (const epoch of [0, 3]) {
        const p = epochPlan(1000, { batchSize: 7, shuffle: true, augment: true, seed, epoch });
        now[`plan ${seed} ${epoch}`] = digest([p.order, p.dx, p.dy, p.flip]);
      }
    }
    const syn = syntheticCifar({ trainSize: 50, testSize: 10, seed: 9 });
    now.synthetic = digest([syn.train.images, syn.train.labels, syn.test!.images]);
    const carve = carveIndices(500, 50, 77);
    now.carve = digest([carve.train, carve.validation]);
    expect(now).toEqual(BEFORE_THE_MOVE);
  });
});
