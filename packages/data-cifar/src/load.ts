/** loadCifar: locate (or download) the binary release, read it, carve a validation split, compute statistics. */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CifarNotFoundError } from './errors.js';
import { IMAGE_BYTES, type ParsedBatch, type Variant } from './format.js';
import { defaultCacheDir, envName, findInDir, locate, OFFICIAL } from './locate.js';
import { downloadVerified, DownloadError } from './download.js';
import { deriveSeed, permutation, Rng } from '@lm/data-core';
import { STREAM_SPLIT } from './streams.js';
import { readCifarSource, type ReadProgress } from './read.js';
import { ArraySplit, channelStats, type CifarSplit, type RGB } from './split.js';
import type { ProgressMode } from './progress.js';

export interface CifarDataset {
  variant: 'cifar10' | 'cifar100';
  /** CIFAR-100 only: which label set `labels`/`ys` use. */
  labelMode?: 'fine' | 'coarse';
  numClasses: number;
  classNames: string[];
  /** Per-channel mean and std of the training split (after carving validation out), in [0,1] units. */
  mean: RGB;
  std: RGB;
  train: CifarSplit;
  validation?: CifarSplit;
  /** Absent when the release read has no test batch. */
  test?: CifarSplit;
  /** The archive or folder read (or `synthetic`). */
  source: string;
  /** Indices into the original training records of the train and validation splits (ascending). */
  splitIndices?: { train: Uint32Array; validation: Uint32Array };
  /** True for `syntheticCifar` datasets. */
  synthetic?: boolean;
}

export interface LoadCifarOptions {
  variant?: Variant;
  /** An archive (`.tar.gz`/`.tar`, any name), an extracted folder, or a folder holding an archive. */
  path?: string;
  /** Download the official archive when no local copy exists (default true; `LM_CIFAR_DOWNLOAD=0` turns it off). */
  download?: boolean;
  /** Archive URL (default: the official one, or `$LM_CIFAR10_URL` / `$LM_CIFAR100_URL`). */
  url?: string;
  /** Expected checksum of the download (default: the official md5, or `$LM_CIFAR10_MD5` / `..._SHA256`). */
  md5?: string;
  sha256?: string;
  /** Cache folder (default `$LM_DATA_DIR` or `~/.cache/lm/datasets`); downloads go to `<cacheDir>/<variant>/`. */
  cacheDir?: string;
  /** Records carved from the training set as validation (default: 0 with a test batch, else min(5000, N/10)). */
  validationSize?: number;
  /** Seed of the validation carve (default 0). */
  splitSeed?: number;
  /** CIFAR-100 label set (default 'fine'). */
  labelMode?: 'fine' | 'coarse';
  /** Record counts to enforce per batch file; default the official ones, `false` for any (small archives). */
  expectedRecords?: false | Record<string, number>;
  /** Progress display on stderr: 'auto' (bar on a TTY, lines otherwise), 'bar', 'lines', 'silent'. */
  progress?: ProgressMode;
  /** Shorthand for progress: 'silent'. */
  quiet?: boolean;
  onProgress?: (p: ReadProgress) => void;
  /** Download attempts (default 3) and retry delay in ms (default 1000). */
  attempts?: number;
  retryDelayMs?: number;
}

function hasBatchFiles(dir: string, variant: Variant): boolean {
  const probe = (d: string) => {
    try {
      const names = readdirSync(d);
      return variant === 'cifar10' ? names.some((n) => /^data_batch_\d\.bin$/.test(n)) : names.includes('train.bin');
    } catch {
      return false;
    }
  };
  return probe(dir) || probe(join(dir, OFFICIAL[variant].folder));
}

/** Loads CIFAR-10 or CIFAR-100; see `LoadCifarOptions` for where the data is looked for. */
export async function loadCifar(opts: LoadCifarOptions = {}): Promise<CifarDataset> {
  const variant = opts.variant ?? 'cifar10';
  if (variant !== 'cifar10' && variant !== 'cifar100') throw new Error(`unknown variant ${String(variant)}`);
  const progress: ProgressMode = opts.quiet ? 'silent' : (opts.progress ?? 'auto');
  const found = locate(variant, opts);
  let path = found.path;
  if (path && statSync(path).isDirectory() && !hasBatchFiles(path, variant)) {
    // A folder that holds an archive rather than the extracted files.
    const inner = findInDir(path, variant);
    if (inner) path = inner;
  }
  if (!path) {
    const label = variant === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100';
    if (opts.path) {
      throw new CifarNotFoundError(`${label} not found: the given path ${opts.path} does not exist`, found.searched);
    }
    const downloadOn = opts.download ?? process.env.LM_CIFAR_DOWNLOAD !== '0';
    const where = found.searched.join(', ');
    if (!downloadOn) {
      throw new CifarNotFoundError(
        `${label} not found locally (looked in: ${where}) and download is off; pass { path }, set $${envName(variant, 'PATH')}, or put ${OFFICIAL[variant].archive} in ${join(opts.cacheDir ?? defaultCacheDir(), variant)}`,
        found.searched,
      );
    }
    const url = opts.url ?? process.env[envName(variant, 'URL')] ?? OFFICIAL[variant].url;
    const sha256 = opts.sha256 ?? (opts.md5 ? undefined : process.env[envName(variant, 'SHA256')]);
    const md5 = sha256 ? undefined : (opts.md5 ?? process.env[envName(variant, 'MD5')] ?? OFFICIAL[variant].md5);
    const dest = join(opts.cacheDir ?? defaultCacheDir(), variant, OFFICIAL[variant].archive);
    try {
      path = await downloadVerified({
        url,
        dest,
        md5,
        sha256,
        attempts: opts.attempts,
        retryDelayMs: opts.retryDelayMs,
        progress,
        onProgress: opts.onProgress
          ? (bytes, total) => opts.onProgress!({ phase: 'download', file: dest, bytes, total })
          : undefined,
      });
    } catch (e) {
      if (e instanceof DownloadError) {
        throw new CifarNotFoundError(
          `${label} not found locally (looked in: ${where}) and the download failed: ${e.message}`,
          found.searched,
          { cause: e },
        );
      }
      throw e;
    }
  }
  const raw = await readCifarSource(path, variant, { expectedRecords: opts.expectedRecords, onProgress: opts.onProgress });
  return buildDataset(raw.variant, raw.train, raw.test, raw.classNames, raw.coarseNames, path, opts);
}

function gather(src: ParsedBatch, idx: Uint32Array): ParsedBatch {
  const images = new Uint8Array(idx.length * IMAGE_BYTES);
  const labels = new Int32Array(idx.length);
  const coarse = src.coarse ? new Int32Array(idx.length) : undefined;
  for (let i = 0; i < idx.length; i++) {
    const j = idx[i];
    images.set(src.images.subarray(j * IMAGE_BYTES, (j + 1) * IMAGE_BYTES), i * IMAGE_BYTES);
    labels[i] = src.labels[j];
    if (coarse) coarse[i] = src.coarse![j];
  }
  return coarse ? { images, labels, coarse } : { images, labels };
}

/** Indices of the validation carve: `validationSize` records chosen by `splitSeed`, both lists ascending. */
export function carveIndices(n: number, validationSize: number, splitSeed = 0): { train: Uint32Array; validation: Uint32Array } {
  if (!Number.isInteger(validationSize) || validationSize < 0 || validationSize >= n) {
    throw new RangeError(`validationSize must be an integer in [0, ${n - 1}], got ${validationSize}`);
  }
  const perm = permutation(n, new Rng(deriveSeed(splitSeed, 0, STREAM_SPLIT)));
  const validation = perm.slice(0, validationSize).sort();
  const train = perm.slice(validationSize).sort();
  return { train, validation };
}

export function buildDataset(
  variant: Variant,
  all: ParsedBatch,
  testRaw: ParsedBatch | undefined,
  fineOrClassNames: string[],
  coarseNames: string[] | undefined,
  source: string,
  opts: Pick<LoadCifarOptions, 'validationSize' | 'splitSeed' | 'labelMode'> & { numClasses?: number },
): CifarDataset {
  const n = all.labels.length;
  const vSize = opts.validationSize ?? (testRaw ? 0 : Math.min(5000, Math.floor(n / 10)));
  const idx = carveIndices(n, vSize, opts.splitSeed ?? 0);
  const trainRaw = vSize > 0 ? gather(all, idx.train) : all;
  const valRaw = vSize > 0 ? gather(all, idx.validation) : undefined;
  const { mean, std } = channelStats(trainRaw.images);
  const norm = { mean, std };
  const labelMode = variant === 'cifar100' ? (opts.labelMode ?? 'fine') : undefined;
  const numClasses = opts.numClasses ?? (variant === 'cifar10' ? 10 : labelMode === 'coarse' ? 20 : 100);
  const classNames = labelMode === 'coarse' ? coarseNames! : fineOrClassNames;
  const mk = (p: ParsedBatch) =>
    variant === 'cifar100'
      ? new ArraySplit(p.images, labelMode === 'coarse' ? p.coarse! : p.labels, numClasses, norm, {
          fineLabels: p.labels,
          coarseLabels: p.coarse,
        })
      : new ArraySplit(p.images, p.labels, numClasses, norm);
  const ds: CifarDataset = {
    variant,
    numClasses,
    classNames,
    mean,
    std,
    train: mk(trainRaw),
    source,
    splitIndices: idx,
  };
  if (labelMode) ds.labelMode = labelMode;
  if (valRaw) ds.validation = mk(valRaw);
  if (testRaw) ds.test = mk(testRaw);
  return ds;
}

