/**
 * @lm/data-cifar: CIFAR-10 and CIFAR-100 from the official binary releases to augmented, normalised
 * tensor batches for @tensorflow/tfjs-core.
 */
export type { Batch, BatchOptions, CifarSplit, EpochPlan, RGB } from './split.js';
export { ArraySplit, augmentInto, batchCount, channelStats, epochPlan, normalisationLut, PAD } from './split.js';
export type { CifarDataset, LoadCifarOptions } from './load.js';
export { buildDataset, carveIndices, loadCifar } from './load.js';
export type { SyntheticCifarOptions } from './synthetic.js';
export { syntheticCifar } from './synthetic.js';
export { CifarChecksumError, CifarFormatError, CifarNotFoundError } from './errors.js';
export type { ParsedBatch, Variant } from './format.js';
export {
  CIFAR100_COARSE_NAMES,
  CIFAR100_FINE_NAMES,
  CIFAR10_NAMES,
  IMAGE_BYTES,
  parseBatch,
  parseLabelNames,
  recordBytes,
} from './format.js';
export type { RawCifar, ReadOptions, ReadProgress } from './read.js';
export { readCifarSource } from './read.js';
export type { TarMember } from './tar.js';
export { readTarFile, readTarStream } from './tar.js';
export type { DownloadOptions } from './download.js';
export { DownloadError, downloadVerified, fileDigest } from './download.js';
export { defaultCacheDir, envName, findInDir, locate, OFFICIAL, searchDirs } from './locate.js';
export type { ProgressMode } from './progress.js';
export { ProgressReporter } from './progress.js';
export { deriveSeed, mix32, permutation, Rng } from '@lm/data-core';
