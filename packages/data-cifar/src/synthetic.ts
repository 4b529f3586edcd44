/** A learnable synthetic stand-in for CIFAR: class-dependent colour and stripe patterns plus noise. */
import { IMAGE_BYTES, SIDE } from './format.js';
import { buildDataset, type CifarDataset } from './load.js';
import { deriveSeed, Rng } from '@lm/data-core';
import { STREAM_SYNTH } from './streams.js';

export interface SyntheticCifarOptions {
  /** Number of classes (default 10, at most 100). */
  numClasses?: number;
  /** Training images (default 5000). */
  trainSize?: number;
  /** Test images (default 1000; 0 for none). */
  testSize?: number;
  /** Validation images carved from the training images (default 0). */
  validationSize?: number;
  seed?: number;
  /** Std of the pixel noise in byte units (default 24). */
  noise?: number;
}

function render(n: number, K: number, rng: Rng, noise: number): { images: Uint8Array; labels: Int32Array } {
  const images = new Uint8Array(n * IMAGE_BYTES);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % K; // balanced classes
    labels[i] = k;
    // Class signature: a hue, a stripe orientation and a stripe frequency.
    const hue = (2 * Math.PI * k) / K;
    const col = [Math.cos(hue), Math.cos(hue - (2 * Math.PI) / 3), Math.cos(hue + (2 * Math.PI) / 3)];
    const theta = (Math.PI * ((k * 7) % K)) / K;
    const freq = (2 + (k % 3)) * ((2 * Math.PI) / SIDE);
    const ct = Math.cos(theta) * freq;
    const st = Math.sin(theta) * freq;
    // Per-image nuisance: phase, contrast, brightness.
    const phase = rng.next() * 2 * Math.PI;
    const amp = 45 + rng.next() * 25;
    const bright = 118 + (rng.next() - 0.5) * 30;
    let o = i * IMAGE_BYTES;
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) {
        const s = Math.sin(x * ct + y * st + phase);
        for (let c = 0; c < 3; c++) {
          const v = bright + 40 * col[c] + amp * s * (0.6 + 0.4 * col[c]) + noise * rng.normal();
          images[o++] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
        }
      }
    }
  }
  return { images, labels };
}

/** Builds a deterministic synthetic dataset with the same shape and API as CIFAR-10 (used offline). */
export function syntheticCifar(opts: SyntheticCifarOptions = {}): CifarDataset {
  const K = opts.numClasses ?? 10;
  if (!Number.isInteger(K) || K < 2 || K > 100) throw new RangeError(`numClasses must be in 2..100, got ${K}`);
  const trainSize = opts.trainSize ?? 5000;
  const testSize = opts.testSize ?? 1000;
  const seed = opts.seed ?? 0;
  const noise = opts.noise ?? 24;
  const train = render(trainSize, K, new Rng(deriveSeed(seed, 0, STREAM_SYNTH)), noise);
  const test = testSize > 0 ? render(testSize, K, new Rng(deriveSeed(seed, 1, STREAM_SYNTH)), noise) : undefined;
  const names = Array.from({ length: K }, (_, k) => `class_${k}`);
  const ds = buildDataset('cifar10', train, test, names, undefined, 'synthetic', {
    validationSize: opts.validationSize ?? 0,
    splitSeed: seed,
    numClasses: K,
  });
  return { ...ds, variant: K > 10 ? 'cifar100' : 'cifar10', synthetic: true };
}
