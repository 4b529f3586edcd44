/**
 * Seeds of the random inputs of tests. A test file calls `testSeed(import.meta.url)` once: the seed is
 * `LM_TEST_SEED` when that variable is set (to replay a run), else fresh from the clock, and it is printed
 * with the line that replays it. Derive every random input of the file from it.
 */
export function testSeed(file: string): number {
  const name = file.replace(/^.*\/(packages|tools)\//, '$1/');
  const given = process.env.LM_TEST_SEED;
  let seed: number;
  if (given !== undefined && given !== '') {
    seed = Number(given);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new Error(`LM_TEST_SEED must be an integer in [0, 2^32), got '${given}'.`);
    }
  } else {
    seed = (Date.now() * 2654435761) >>> 0;
  }
  console.info(`[test seed] ${name}: ${seed} (replay with LM_TEST_SEED=${seed})`);
  return seed;
}

/**
 * Uniform numbers in [0, 1) from a 32-bit seed (splitmix32 on a counter): test inputs only, independent of
 * the generators under test so that a bug in those cannot hide in the inputs.
 */
export function uniformSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return ((z ^ (z >>> 15)) >>> 0) / 4294967296;
  };
}

/** `n` values uniform in [lo, hi) from `next`. */
export function uniformValues(next: () => number, n: number, lo = -1, hi = 1): number[] {
  return Array.from({ length: n }, () => lo + (hi - lo) * next());
}
