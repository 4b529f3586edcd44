import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

export type RGB = [number, number, number];

export function solid(width: number, height: number, rgb: RGB): sharp.Sharp {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
}

/** Raw RGB image from a per-pixel colour function. */
export function pattern(width: number, height: number, f: (x: number, y: number) => RGB): sharp.Sharp {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const c = f(x, y);
      const o = (y * width + x) * 3;
      data[o] = c[0];
      data[o + 1] = c[1];
      data[o + 2] = c[2];
    }
  return sharp(data, { raw: { width, height, channels: 3 } });
}

export const tempDir = (prefix: string): Promise<string> => mkdtemp(join(tmpdir(), `lm-imagenet-${prefix}-`));

export const RED: RGB = [220, 30, 40];
export const GREEN: RGB = [30, 200, 60];
export const BLUE: RGB = [20, 40, 210];
export const GREY: RGB = [128, 128, 128];
/** Inside the CMYK gamut, so it survives sRGB -> CMYK -> sRGB within a few levels. */
export const TAN: RGB = [180, 120, 90];

/**
 * A small ImageNet-style tree:
 *   train/n00000001: 3 RGB JPEGs (red), a PNG named .JPEG (red), a notes.txt (ignored)
 *   train/n00000002: 2 grayscale JPEGs (grey), 1 CMYK JPEG (tan)
 *   train/n00000003: 2 RGB JPEGs (blue), a truncated JPEG, a text file named .JPEG
 *   val/ (flat) 4 JPEGs + val_labels.txt, val_solution.csv, val_gt.txt (positional, 1-based)
 *   valdirs/ (class folders) one JPEG per class
 *   synsets.txt (LOC_synset_mapping style), subset.txt (two classes, reversed order), class_index.json
 */
export async function makeTree(): Promise<{ root: string; corrupt: string[] }> {
  const root = await tempDir('tree');
  const train = join(root, 'train');
  const c1 = join(train, 'n00000001');
  const c2 = join(train, 'n00000002');
  const c3 = join(train, 'n00000003');
  await Promise.all([c1, c2, c3].map((d) => mkdir(d, { recursive: true })));
  for (let i = 0; i < 3; i++) await solid(300 + 40 * i, 260 + 10 * i, RED).jpeg({ quality: 95 }).toFile(join(c1, `n00000001_${i}.JPEG`));
  await solid(280, 300, RED).png().toFile(join(c1, 'n00000001_png.JPEG'));
  await writeFile(join(c1, 'notes.txt'), 'not an image');
  for (let i = 0; i < 2; i++) await solid(320, 240, GREY).toColourspace('b-w').jpeg({ quality: 95 }).toFile(join(c2, `n00000002_${i}.JPEG`));
  await solid(300, 300, TAN).toColourspace('cmyk').jpeg({ quality: 95 }).toFile(join(c2, 'n00000002_cmyk.JPEG'));
  for (let i = 0; i < 2; i++) await solid(400, 300, BLUE).jpeg({ quality: 95 }).toFile(join(c3, `n00000003_${i}.JPEG`));
  const full = await pattern(400, 300, (x, y) => [(x * 7) & 255, (y * 5) & 255, (x + y) & 255]).jpeg({ quality: 90 }).toBuffer();
  const truncated = join(c3, 'n00000003_truncated.JPEG');
  await writeFile(truncated, full.subarray(0, Math.floor(full.length * 0.4)));
  const text = join(c3, 'n00000003_text.JPEG');
  await writeFile(text, 'this is not a JPEG at all\n');

  const val = join(root, 'val');
  await mkdir(val, { recursive: true });
  const valColours: [string, RGB][] = [
    ['ILSVRC2012_val_00000001.JPEG', BLUE],
    ['ILSVRC2012_val_00000002.JPEG', RED],
    ['ILSVRC2012_val_00000003.JPEG', GREY],
    ['ILSVRC2012_val_00000004.JPEG', RED],
  ];
  const valWnids = ['n00000003', 'n00000001', 'n00000002', 'n00000001'];
  for (const [f, c] of valColours) await solid(300, 280, c).jpeg({ quality: 95 }).toFile(join(val, f));
  await writeFile(join(root, 'val_labels.txt'), valColours.map(([f], i) => `${f} ${valWnids[i]}`).join('\n') + '\n');
  await writeFile(
    join(root, 'val_solution.csv'),
    'ImageId,PredictionString\n' + valColours.map(([f], i) => `${f.replace('.JPEG', '')},${valWnids[i]} 1 2 100 120 ${valWnids[i]} 3 4 50 60`).join('\n') + '\n',
  );
  await writeFile(join(root, 'val_gt.txt'), valWnids.map((w) => String(Number(w.slice(1)))).join('\n') + '\n'); // 1-based ids: n00000001 -> 1
  const valdirs = join(root, 'valdirs');
  for (const [w, c] of [['n00000001', RED], ['n00000002', GREY], ['n00000003', BLUE]] as [string, RGB][]) {
    await mkdir(join(valdirs, w), { recursive: true });
    await solid(260, 260, c).jpeg({ quality: 95 }).toFile(join(valdirs, w, `${w}_val.JPEG`));
  }
  await writeFile(join(root, 'synsets.txt'), 'n00000001 red thing, scarlet\nn00000002 grey thing\nn00000003 blue thing\n');
  await writeFile(join(root, 'subset.txt'), 'n00000003\nn00000001\n');
  await writeFile(join(root, 'class_index.json'), JSON.stringify({ 0: ['n00000002', 'grey'], 1: ['n00000003', 'blue'], 2: ['n00000001', 'red'] }));
  return { root, corrupt: [truncated, text] };
}

/**
 * Reference of the resampling the addon implements, written out directly: output pixel i covers the
 * source interval [x + i s, x + (i + 1) s), s = length / out; a triangle filter of half-width max(s, 1)
 * around its centre, renormalised over the samples inside the image (PIL's BILINEAR with a box).
 */
export function referenceResize(src: Uint8Array, W: number, H: number, box: [number, number, number, number], ow: number, oh: number): Float64Array {
  const taps = (start: number, length: number, out: number, limit: number): { j: number; w: number }[][] => {
    const s = length / out;
    const f = Math.max(s, 1);
    const all: { j: number; w: number }[][] = [];
    for (let i = 0; i < out; i++) {
      const c = start + (i + 0.5) * s;
      const row: { j: number; w: number }[] = [];
      for (let j = Math.floor(c - f) - 1; j <= Math.ceil(c + f) + 1; j++) {
        if (j < 0 || j >= limit) continue;
        const w = Math.max(0, 1 - Math.abs(j + 0.5 - c) / f);
        if (w > 0) row.push({ j, w });
      }
      const sum = row.reduce((a, t) => a + t.w, 0);
      all.push(row.map((t) => ({ j: t.j, w: t.w / sum })));
    }
    return all;
  };
  const xs = taps(box[0], box[2], ow, W);
  const ys = taps(box[1], box[3], oh, H);
  const out = new Float64Array(ow * oh * 3);
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++)
      for (let c = 0; c < 3; c++) {
        let v = 0;
        for (const ty of ys[y]) for (const tx of xs[x]) v += ty.w * tx.w * src[(ty.j * W + tx.j) * 3 + c];
        out[(y * ow + x) * 3 + c] = v;
      }
  return out;
}
