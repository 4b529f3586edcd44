/**
 * Small deterministic PRNG utilities (no dependencies).
 *
 * `mulberry32` is a 32-bit generator with a 2^32 period: plenty for shuffling and augmentation parameters.
 * Streams for (seed, epoch, purpose) are derived by hashing the tuple with a splitmix-style mixer, so that
 * every epoch gets an independent, reproducible stream.
 */

/** Avalanche mix of a 32-bit integer (from splitmix32 / murmur3 finaliser). */
export function mix32(x: number): number {
  x |= 0;
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Derives a 32-bit seed from a list of integers (order-sensitive). */
export function deriveSeed(...parts: number[]): number {
  let h = 0x2545f491;
  for (const p of parts) {
    // Fold numbers beyond 32 bits too (seeds may be large integers).
    const lo = p | 0;
    const hi = Math.floor(p / 4294967296) | 0;
    h = mix32(h ^ lo);
    h = mix32(h ^ hi ^ 0x5bd1e995);
  }
  return h >>> 0;
}

/** A seeded generator returning uint32 values; `next()` for [0,1), `int(n)` for [0,n). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Next uint32 (mulberry32). */
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform float in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }
  /** Uniform integer in [0, n) for 0 < n <= 2^32 (rejection sampling: unbiased). */
  int(n: number): number {
    if (n <= 1) return 0;
    const limit = 4294967296 - (4294967296 % n);
    let v = this.u32();
    while (v >= limit) v = this.u32();
    return v % n;
  }
  /** Approximately standard normal (Box-Muller). */
  normal(): number {
    let u = this.next();
    if (u < 1e-12) u = 1e-12;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
}

/** Purposes keep the streams of one (seed, epoch) independent. */
export const STREAM_SHUFFLE = 1;
export const STREAM_AUGMENT = 2;
export const STREAM_SPLIT = 3;
export const STREAM_SYNTH = 4;

/** Fisher-Yates permutation of 0..n-1 driven by `rng`. */
export function permutation(n: number, rng: Rng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
