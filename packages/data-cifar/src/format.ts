/** The CIFAR binary record layouts and label-name files. */
import { CifarFormatError } from './errors.js';

export type Variant = 'cifar10' | 'cifar100';

export const SIDE = 32;
export const PIXELS = SIDE * SIDE; // 1024
export const IMAGE_BYTES = PIXELS * 3; // 3072

/** Bytes per record: CIFAR-10 has one label byte, CIFAR-100 a coarse and a fine label byte. */
export function recordBytes(variant: Variant): number {
  return variant === 'cifar10' ? IMAGE_BYTES + 1 : IMAGE_BYTES + 2;
}

export interface ParsedBatch {
  /** N*32*32*3 bytes, HWC interleaved (R,G,B per pixel). */
  images: Uint8Array;
  /** CIFAR-10 labels or CIFAR-100 fine labels. */
  labels: Int32Array;
  /** CIFAR-100 coarse labels. */
  coarse?: Int32Array;
}

/**
 * Parses one batch file (CIFAR-10 `data_batch_N.bin`/`test_batch.bin` or CIFAR-100 `train.bin`/`test.bin`).
 * Records store the image as three 32x32 planes R, G, B (row-major); they are converted to HWC here.
 * @param file name used in error messages
 * @param expectedRecords when given, the record count must equal it
 */
export function parseBatch(buf: Uint8Array, file: string, variant: Variant, expectedRecords?: number): ParsedBatch {
  const rec = recordBytes(variant);
  if (buf.length === 0) throw new CifarFormatError(file, 'empty batch file (0 bytes)');
  if (buf.length % rec !== 0) {
    const full = Math.floor(buf.length / rec);
    throw new CifarFormatError(
      file,
      `truncated or malformed batch file: ${buf.length} bytes is not a whole number of ${rec}-byte ${variant === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100'} records (${full} full records and ${buf.length - full * rec} extra bytes)`,
    );
  }
  const n = buf.length / rec;
  if (expectedRecords !== undefined && n !== expectedRecords) {
    throw new CifarFormatError(file, `record count does not match: found ${n} records, expected ${expectedRecords}`);
  }
  const images = new Uint8Array(n * IMAGE_BYTES);
  const labels = new Int32Array(n);
  const coarse = variant === 'cifar100' ? new Int32Array(n) : undefined;
  const head = rec - IMAGE_BYTES;
  for (let i = 0; i < n; i++) {
    const base = i * rec;
    if (variant === 'cifar10') {
      const l = buf[base];
      if (l > 9) throw new CifarFormatError(file, `label out of range: record ${i} has label ${l}, expected 0..9`);
      labels[i] = l;
    } else {
      const c = buf[base];
      const f = buf[base + 1];
      if (c > 19) throw new CifarFormatError(file, `label out of range: record ${i} has coarse label ${c}, expected 0..19`);
      if (f > 99) throw new CifarFormatError(file, `label out of range: record ${i} has fine label ${f}, expected 0..99`);
      coarse![i] = c;
      labels[i] = f;
    }
    const r = base + head;
    const g = r + PIXELS;
    const b = g + PIXELS;
    let o = i * IMAGE_BYTES;
    for (let p = 0; p < PIXELS; p++) {
      images[o] = buf[r + p];
      images[o + 1] = buf[g + p];
      images[o + 2] = buf[b + p];
      o += 3;
    }
  }
  return coarse ? { images, labels, coarse } : { images, labels };
}

/** Parses a label-names file (one name per line, blank lines ignored) and checks the count. */
export function parseLabelNames(text: string, file: string, expected: number): string[] {
  const names = text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length !== expected) {
    throw new CifarFormatError(file, `wrong number of label names: found ${names.length}, expected ${expected}`);
  }
  return names;
}

export const CIFAR10_NAMES = [
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
];

export const CIFAR100_COARSE_NAMES = [
  'aquatic_mammals', 'fish', 'flowers', 'food_containers', 'fruit_and_vegetables',
  'household_electrical_devices', 'household_furniture', 'insects', 'large_carnivores',
  'large_man-made_outdoor_things', 'large_natural_outdoor_scenes', 'large_omnivores_and_herbivores',
  'medium_mammals', 'non-insect_invertebrates', 'people', 'reptiles', 'small_mammals', 'trees',
  'vehicles_1', 'vehicles_2',
];

export const CIFAR100_FINE_NAMES = [
  'apple', 'aquarium_fish', 'baby', 'bear', 'beaver', 'bed', 'bee', 'beetle', 'bicycle', 'bottle',
  'bowl', 'boy', 'bridge', 'bus', 'butterfly', 'camel', 'can', 'castle', 'caterpillar', 'cattle',
  'chair', 'chimpanzee', 'clock', 'cloud', 'cockroach', 'couch', 'crab', 'crocodile', 'cup', 'dinosaur',
  'dolphin', 'elephant', 'flatfish', 'forest', 'fox', 'girl', 'hamster', 'house', 'kangaroo', 'keyboard',
  'lamp', 'lawn_mower', 'leopard', 'lion', 'lizard', 'lobster', 'man', 'maple_tree', 'motorcycle', 'mountain',
  'mouse', 'mushroom', 'oak_tree', 'orange', 'orchid', 'otter', 'palm_tree', 'pear', 'pickup_truck', 'pine_tree',
  'plain', 'plate', 'poppy', 'porcupine', 'possum', 'rabbit', 'raccoon', 'ray', 'road', 'rocket',
  'rose', 'sea', 'seal', 'shark', 'shrew', 'skunk', 'skyscraper', 'snail', 'snake', 'spider',
  'squirrel', 'streetcar', 'sunflower', 'sweet_pepper', 'table', 'tank', 'telephone', 'television', 'tiger', 'tractor',
  'train', 'trout', 'tulip', 'turtle', 'wardrobe', 'whale', 'willow_tree', 'wolf', 'woman', 'worm',
];
