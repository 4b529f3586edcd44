/** What the @lm data packages share: one batch contract, one family of seeded random streams. */
export type { Batch, BatchOptions, Split } from './batch.js';
export { batchCount } from './batch.js';
export { deriveSeed, mix32, permutation, Rng } from './random.js';
