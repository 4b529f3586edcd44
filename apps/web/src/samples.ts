/** Images the page draws itself (CIFAR-sized, RGBA), in integer arithmetic so every JS engine draws the same bytes. */
export const SAMPLE_NAMES = ['sky over sea', 'red disc', 'green stripes', 'checkerboard'] as const;

export function samplePixels(index: number, side = 32): Uint8ClampedArray<ArrayBuffer> {
  if (!Number.isInteger(index) || index < 0 || index >= SAMPLE_NAMES.length) {
    throw new RangeError(`sample ${index} does not exist: there are ${SAMPLE_NAMES.length} (0-${SAMPLE_NAMES.length - 1})`);
  }
  const px = new Uint8ClampedArray(side * side * 4);
  const c = side >> 1;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const o = (y * side + x) * 4;
      let rgb: [number, number, number];
      if (index === 0) rgb = y < (side * 5) >> 3 ? [90 + 3 * y, 150 + 2 * y, 230] : [20, 60 + ((x * 7 + y * 3) % 40), 140];
      else if (index === 1) rgb = (x - c) ** 2 + (y - c) ** 2 < (side * side) >> 4 ? [220, 30 + x, 40] : [235, 225, 200];
      else if (index === 2) rgb = ((x + y) >> 2) % 2 ? [40, 170, 60] : [200, 230, 150];
      else rgb = ((x >> 2) + (y >> 2)) % 2 ? [250, 250, 250] : [15, 15, 15];
      px.set([rgb[0], rgb[1], rgb[2], 255], o);
    }
  }
  return px;
}
