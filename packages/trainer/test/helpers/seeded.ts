/** Seeded test inputs for the trainer's onednn tests: LM_TEST_SEED replays a run (the seed is printed). */
export function testSeed(file: string, fallback: number): number {
  const seed = Number(process.env.LM_TEST_SEED ?? fallback);
  console.log(`${file}: LM_TEST_SEED=${seed}`);
  return seed;
}

/** n values in [-1, 1) from a linear congruential stream of `seed` and `salt`. */
export function seededValues(seed: number, n: number, salt: number): Float32Array {
  let s = (seed * 2654435761 + salt * 40503) >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}
