/**
 * @lm/data-imagenet: ImageNet folders to augmented, normalised NHWC float32 tensor batches,
 * decoded with sharp in parallel with bounded prefetch.
 */
export type { ImageNetDataset, LoadImageNetOptions } from './load.js';
export { defaultConcurrency, IMAGENET_MEAN, IMAGENET_STD, loadImageNet, sharpInfo } from './load.js';
export type { Augment, Batch, DecodedBy, BatchOptions, DecodeEvent, EpochSummary, ImageFolderSplit, PipelineHooks, RawBatch, RawBatchOptions, RawDecoder, RGB, SplitConfig } from './split.js';
export { batchCount, CorruptImageError, epochOrder, ImageFolder } from './split.js';
export type { CenterCropOptions, CropResizePlan, Plan, RandomResizedCropOptions, ResizeCropPlan, ScaleAugmentOptions } from './geometry.js';
export { centerCropPlan, planOutput, randomResizedCropPlan, resizeShorter, roundHalfEven, scaleAugmentPlan, sourceBox } from './geometry.js';
export type { DecodeSettings, FailOn, Kernel, RawTile } from './decode.js';
export { DEFAULT_DECODE, decodeRaw, executionPlan, imageSize, normalisationLut, normaliseInto } from './decode.js';
export type { HeaderInfo } from './header.js';
export { readHeader } from './header.js';
export type { LabelledFiles, SynsetList, ValLabelOptions } from './folders.js';
export { filesOfClasses, IMAGE_EXTENSIONS, isImageFile, labelFlatFolder, listClassFolders, listFlatFolder, parseSynsetList, readSynsetList } from './folders.js';
export { deriveSeed, mix32, permutation, Rng } from '@lm/data-core';
export type { JpegDecoder, NativeJpegAddon } from './native-jpeg.js';
export { decodeRegionNative, nativeJpeg, nativeUnsupported, resolveJpegDecoder } from './native-jpeg.js';
