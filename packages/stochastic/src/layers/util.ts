/** [count, 1, 1, ...]: a per-image (or, with count 1, per-batch) coefficient broadcast over a tensor of `rank`. */
export function coefficientShape(count: number, rank: number): number[] {
  return [count, ...Array(Math.max(rank - 1, 0)).fill(1)];
}
