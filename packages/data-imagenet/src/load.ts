import { readFile, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import { DEFAULT_DECODE, type DecodeSettings } from './decode.js';
import { filesOfClasses, labelFlatFolder, listClassFolders, listFlatFolder, readSynsetList, type ValLabelOptions } from './folders.js';
import { nativeJpeg, resolveJpegDecoder, type JpegDecoder } from './native-jpeg.js';
import { ImageFolder, type PipelineHooks, type RawDecoder, type RGB, type SplitConfig } from './split.js';

export const IMAGENET_MEAN: RGB = [0.485, 0.456, 0.406];
export const IMAGENET_STD: RGB = [0.229, 0.224, 0.225];

export interface LoadImageNetOptions {
  /** Folder of class folders (`<trainDir>/n01440764/*.JPEG`). */
  trainDir: string;
  /** Validation folder: class folders like `trainDir`, or flat with `valLabels`. */
  valDir?: string;
  /** Label file of a flat `valDir` (see labelFlatFolder for the accepted forms). */
  valLabels?: string;
  /** Integer labels in `valLabels` count from this base (1 for ILSVRC2012_validation_ground_truth.txt). Default 0. */
  valLabelBase?: number;
  /**
   * Class list file fixing the class order, or selecting a subset: a synset list (one wnid a line,
   * optionally followed by its description) or a JSON class index `{"0": ["n01440764", "tench"]}`.
   * Default: the sorted names of the class folders of `trainDir`.
   */
  synsets?: string;
  /** Class ids in index order (a subset, or an explicit order). Takes precedence over `synsets` for the order; descriptions still come from `synsets`. */
  classes?: string[];
  /** Use at most this many images of each class (first in sorted order). */
  limitPerClass?: number;
  /** Output side. Default 224. */
  imageSize?: number;
  /** Shorter side of the evaluation resize. Default round(imageSize * 256 / 224) = 256. */
  evalResize?: number;
  /** Scale augmentation: range of the shorter side. Default [256, 480]. */
  scaleRange?: [number, number];
  /** Random-resized-crop area fraction range. Default [0.08, 1]. */
  rrcScale?: [number, number];
  /** Random-resized-crop aspect ratio range. Default [3/4, 4/3]. */
  rrcRatio?: [number, number];
  /** Random horizontal flip when augmenting. Default true. */
  flip?: boolean;
  mean?: RGB;
  std?: RGB;
  /** Images decoded at once. Default: max(4, 2 x cores) (see defaultConcurrency). */
  concurrency?: number;
  /** Batches prepared ahead of the one being consumed. Default 2. */
  prefetch?: number;
  /** An unreadable image is skipped with a warning (default) or fails the epoch. */
  onCorrupt?: 'skip' | 'fail';
  /** sharp's failOn level for decoding. Default 'truncated' (a truncated JPEG counts as unreadable). */
  failOn?: DecodeSettings['failOn'];
  /** Resampling kernel. Default 'linear'. */
  kernel?: DecodeSettings['kernel'];
  /** 'ignore' (default, as PIL) or 'apply' embedded ICC profiles. */
  colourManagement?: DecodeSettings['colourManagement'];
  /** Let crop-then-resize use JPEG shrink-on-load when the box shrinks 2x or more. Default true. */
  shrinkOnLoad?: boolean;
  /**
   * Decoder of JPEG files. 'auto' (default): the libjpeg-turbo addon of this package when it is built
   * and kernel/colourManagement are at their defaults, else sharp. 'libjpeg-turbo': the addon or an
   * error that says how to build it. 'sharp': sharp for every image. Images the addon does not
   * handle (PNG, CMYK, damaged files) always go to sharp.
   */
  jpegDecoder?: JpegDecoder;
  /**
   * Tune sharp for many small pipelines: one libvips thread per image (parallelism comes from
   * `concurrency` images in flight) and no operation cache. These are process-wide sharp settings.
   * Default true.
   */
  tuneSharp?: boolean;
  /** Where warnings go (unreadable images, epoch summaries with skips). Default console.warn. */
  onWarning?: (message: string) => void;
  /** Instrumentation of the decode pipeline. */
  hooks?: PipelineHooks;
  /** Replaces the sharp decoder (tests). */
  decoder?: RawDecoder;
}

export interface ImageNetDataset {
  numClasses: number;
  /** Class ids (wnids) in index order. */
  classNames: string[];
  /** Human-readable class names when the synset file has them, else the wnids. */
  classDescriptions: string[];
  mean: RGB;
  std: RGB;
  imageSize: number;
  train: ImageFolder;
  validation?: ImageFolder;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Default number of images decoded at once: twice the cores, at least 4. More decodes than cores
 * are queued on libuv's thread pool, so the pool keeps decoding while the JavaScript thread is busy
 * with a training step (the next decodes are launched from JavaScript callbacks). sharp runs on
 * that pool (UV_THREADPOOL_SIZE, 4 unless set before start), which caps real parallelism.
 */
export function defaultConcurrency(): number {
  return Math.min(32, Math.max(4, 2 * availableParallelism()));
}

/** Lists an ImageNet-style dataset and returns its splits; nothing is decoded until batches are iterated. */
export async function loadImageNet(opts: LoadImageNetOptions): Promise<ImageNetDataset> {
  if (!(await isDir(opts.trainDir))) throw new Error(`trainDir ${opts.trainDir} is not a folder`);
  if (opts.tuneSharp ?? true) {
    sharp.concurrency(1);
    sharp.cache(false);
  }
  const trainFolders = await listClassFolders(opts.trainDir);
  let classNames: string[];
  let classDescriptions: string[];
  const list = opts.synsets ? await readSynsetList(opts.synsets) : undefined;
  if (opts.classes) {
    classNames = [...opts.classes];
    if (new Set(classNames).size !== classNames.length) throw new Error('classes has duplicates');
    const desc = new Map(list ? list.wnids.map((w, i) => [w, list.descriptions[i]]) : []);
    if (list) {
      const unknown = classNames.filter((c) => !desc.has(c));
      if (unknown.length) throw new Error(`classes not in ${opts.synsets}: ${unknown.slice(0, 5).join(', ')}`);
    }
    classDescriptions = classNames.map((c) => desc.get(c) ?? c);
  } else if (list) {
    classNames = list.wnids;
    classDescriptions = list.descriptions;
  } else {
    classNames = [...trainFolders.keys()];
    classDescriptions = [...classNames];
  }
  if (!classNames.length) throw new Error(`no classes: ${opts.trainDir} has no class folders`);

  const imageSize = opts.imageSize ?? 224;
  const config: SplitConfig = {
    numClasses: classNames.length,
    imageSize,
    mean: opts.mean ?? IMAGENET_MEAN,
    std: opts.std ?? IMAGENET_STD,
    concurrency: opts.concurrency ?? defaultConcurrency(),
    prefetch: opts.prefetch ?? 2,
    onCorrupt: opts.onCorrupt ?? 'skip',
    decode: {
      ...DEFAULT_DECODE,
      ...(opts.failOn ? { failOn: opts.failOn } : {}),
      ...(opts.kernel ? { kernel: opts.kernel } : {}),
      ...(opts.colourManagement ? { colourManagement: opts.colourManagement } : {}),
      ...(opts.shrinkOnLoad !== undefined ? { shrinkOnLoad: opts.shrinkOnLoad } : {}),
    },
    scaleRange: opts.scaleRange ?? [256, 480],
    rrcScale: opts.rrcScale ?? [0.08, 1],
    rrcRatio: opts.rrcRatio ?? [3 / 4, 4 / 3],
    evalResize: opts.evalResize ?? Math.round((imageSize * 256) / 224),
    flip: opts.flip ?? true,
    warn: opts.onWarning ?? ((m) => console.warn(m)),
    hooks: opts.hooks,
    decoder: opts.decoder,
  };
  config.nativeJpeg = opts.decoder ? undefined : resolveJpegDecoder(opts.jpegDecoder ?? 'auto', config.decode, config.warn);
  if (config.scaleRange[0] < imageSize) throw new Error(`scaleRange starts below imageSize (${config.scaleRange[0]} < ${imageSize})`);

  const train = filesOfClasses(trainFolders, classNames, opts.trainDir, true, opts.limitPerClass);
  const ds: ImageNetDataset = {
    numClasses: classNames.length,
    classNames,
    classDescriptions,
    mean: config.mean,
    std: config.std,
    imageSize,
    train: new ImageFolder(train.files, train.labels, config, true),
  };
  if (opts.valDir) {
    if (!(await isDir(opts.valDir))) throw new Error(`valDir ${opts.valDir} is not a folder`);
    const flat = await listFlatFolder(opts.valDir);
    let val;
    if (opts.valLabels) {
      if (!flat.files.length) throw new Error(`valDir ${opts.valDir} has no images at its top level for valLabels ${opts.valLabels}${flat.hasSubfolders ? ' (it has class folders: leave valLabels out)' : ''}`);
      const text = await readFile(opts.valLabels, 'utf8');
      const lo: ValLabelOptions = { indexBase: opts.valLabelBase };
      val = labelFlatFolder(flat.files, text, classNames, opts.valLabels, lo);
    } else if (flat.hasSubfolders) {
      val = filesOfClasses(await listClassFolders(opts.valDir), classNames, opts.valDir, false, opts.limitPerClass);
    } else {
      throw new Error(`valDir ${opts.valDir} has no class folders; pass valLabels for a flat validation folder`);
    }
    ds.validation = new ImageFolder(val.files, val.labels, config, false);
  }
  return ds;
}

/** Versions and process-wide settings of the decoders in use (for benchmark reports). */
export function sharpInfo(): { sharp: string; vips: string; concurrency: number; simd: boolean; libjpegTurbo: string | null } {
  return { sharp: sharp.versions.sharp ?? 'unknown', vips: sharp.versions.vips, concurrency: sharp.concurrency(), simd: sharp.simd(), libjpegTurbo: nativeJpeg().addon?.libjpegTurbo ?? null };
}
