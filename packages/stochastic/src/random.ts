/**
 * A small seeded random source written in plain JavaScript, so that masks and coefficients are the same on
 * every TensorFlow.js backend (cpu, node, webgl, a native backend) and from run to run: random tensors are
 * built from JS arrays drawn here, never from a backend's own generator.
 *
 * The generator is xoshiro128** (Blackman & Vigna), period 2^128 − 1, seeded through splitmix32. Its whole
 * state is four 32-bit words, which {@link SeededRandom.getState} returns for checkpoints.
 */

/** The four 32-bit words of a {@link SeededRandom}. */
export type RandomState = number[];

function splitmix32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

const TWO_PI = 2 * Math.PI;
const INV_2_24 = 1 / 16777216;

/** A seedable generator of uniform, Bernoulli and Gaussian draws. */
export class SeededRandom {
  private readonly s = new Uint32Array(4);

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`SeededRandom: the seed must be a finite number, got ${seed}.`);
    const next = splitmix32(Math.trunc(seed));
    for (let i = 0; i < 4; i++) this.s[i] = next();
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }

  /** A generator continuing from a state saved by {@link getState}. */
  static fromState(state: RandomState): SeededRandom {
    const r = new SeededRandom(0);
    r.setState(state);
    return r;
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform on [0, 1) with 24 random bits, so the value is exact in float32. */
  uniform(): number {
    return (this.nextUint32() >>> 8) * INV_2_24;
  }

  /** 1 with probability p, else 0. */
  bernoulli(p: number): 0 | 1 {
    return this.uniform() < p ? 1 : 0;
  }

  /** One standard normal draw (Box–Muller; uses two uniforms). */
  normal(): number {
    const u1 = 1 - this.uniform();
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(TWO_PI * u2);
  }

  /** Fills `out` with scale · N(0, 1) draws, two per pair of uniforms. */
  fillNormal(out: Float32Array, scale = 1): Float32Array {
    const n = out.length;
    let i = 0;
    for (; i + 1 < n; i += 2) {
      const r = scale * Math.sqrt(-2 * Math.log(1 - this.uniform()));
      const a = TWO_PI * this.uniform();
      out[i] = r * Math.cos(a);
      out[i + 1] = r * Math.sin(a);
    }
    if (i < n) out[i] = scale * this.normal();
    return out;
  }

  /** Fills `out` with draws uniform on [lo, hi). */
  fillUniform(out: Float32Array, lo = 0, hi = 1): Float32Array {
    const w = hi - lo;
    for (let i = 0; i < out.length; i++) out[i] = lo + w * this.uniform();
    return out;
  }

  getState(): RandomState {
    return Array.from(this.s);
  }

  setState(state: RandomState): void {
    if (!Array.isArray(state) || state.length !== 4 || !state.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff)) {
      throw new Error(`SeededRandom: a state is four unsigned 32-bit integers, got ${JSON.stringify(state)}.`);
    }
    if (state.every((w) => w === 0)) throw new Error('SeededRandom: the all-zero state is not a valid xoshiro128** state.');
    this.s.set(state);
  }
}

/** A fresh seed for layers constructed without one (then saved in their config, so reloads repeat). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2147483647);
}
