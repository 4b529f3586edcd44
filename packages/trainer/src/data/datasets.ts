import type { Batch, BatchOptions } from '@lm/data-cifar';
import { DataError, OptionError } from '../errors';

const IMAGE_HINT = '.jpeg, .jpg, .png, .webp, .tif files';
import type { TrainConfig } from '../config';

export type { Batch, BatchOptions };

/** The split contract of @lm/data-cifar and @lm/data-imagenet. */
export interface Split {
  readonly size: number;
  batches(opts: BatchOptions): AsyncIterable<Batch>;
}

export interface Dataset {
  numClasses: number;
  classNames?: string[];
  train: Split;
  validation?: Split;
  test?: Split;
  source?: string;
  synthetic?: boolean;
  inputShape?: [number, number, number];
}

export interface LoadedData {
  dataset: Dataset;
  /** Human description, e.g. `CIFAR-10 from /path (45000 train, 5000 validation)`. */
  description: string;
  /** A one-line notice (the synthetic fallback), if any. */
  notice?: string;
  /** Warnings for stderr (the synthetic fallback said loudly, deprecated variables). */
  warnings: string[];
  /**
   * The data actually used, as config values, so that a resumed run (and `lm eval`) reads the same data: the
   * resolved CIFAR path, or the synthetic dataset when CIFAR was not available. Recorded in the run's config.
   */
  used: Partial<Pick<TrainConfig, 'dataset' | 'data' | 'syntheticClasses'>>;
}

/** The CIFAR path from the environment: `$LM_CIFAR10_PATH` / `$LM_CIFAR100_PATH`; the old `$LM_CIFAR10` still works, with a warning. */
export function cifarPathFromEnv(variant: 'cifar10' | 'cifar100', env: NodeJS.ProcessEnv = process.env): { path?: string; warning?: string } {
  const name = variant === 'cifar10' ? 'LM_CIFAR10_PATH' : 'LM_CIFAR100_PATH';
  const old = variant === 'cifar10' ? 'LM_CIFAR10' : 'LM_CIFAR100';
  if (env[name]) return { path: env[name] };
  if (env[old]) return { path: env[old], warning: `warning: $${old} is deprecated; set $${name} instead (it is read the same way)` };
  return {};
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

/** Short reason for a CifarNotFoundError: what failed, without the list of searched folders. */
function notFoundReason(e: Error): string {
  const cause = (e as { cause?: Error }).cause;
  if (cause?.message) return `download failed: ${firstLine(cause.message)}`;
  const m = firstLine(e.message);
  if (/download is off/.test(m)) return 'no local copy and download is off';
  return m.replace(/\s*\(looked in:[^)]*\)/, '');
}

export interface LoadDataOptions {
  /** Download/read progress: 'silent', or shown on stderr ('auto': a bar on a terminal, else a line per quarter). */
  progress?: 'auto' | 'bar' | 'lines' | 'silent';
}

/** Download and read progress of the CIFAR archive, without a failure line of its own (we print one line). */
function dataProgress(mode: LoadDataOptions['progress']): ((p: { phase: string; file: string; bytes: number; total?: number }) => void) | undefined {
  if (mode === 'silent') return undefined;
  const tty = mode === 'bar' || (mode !== 'lines' && process.stderr.isTTY);
  let lastQuarter = -1;
  let shown = false;
  return (p) => {
    const mb = (b: number) => (b / 1e6).toFixed(1);
    const what = `${p.phase === 'download' ? 'downloading' : 'reading'} ${p.file}: ${mb(p.bytes)}${p.total ? `/${mb(p.total)}` : ''} MB`;
    if (tty) {
      process.stderr.write(`\r\x1b[2K${what}`);
      shown = true;
      if (p.total && p.bytes >= p.total && shown) {
        process.stderr.write('\n');
        shown = false;
      }
      return;
    }
    const q = p.total ? Math.floor((4 * p.bytes) / p.total) : -1;
    if (q !== lastQuarter && q > 0) process.stderr.write(`${what}\n`);
    lastQuarter = q;
  };
}

/** Loads the dataset a config names; CIFAR falls back to the synthetic dataset when offline and allowed. */
export async function loadData(c: TrainConfig, o: LoadDataOptions = {}): Promise<LoadedData> {
  if (c.dataset === 'imagenet') {
    const m = (await import('@lm/data-imagenet')) as Record<string, unknown>;
    if (typeof m.loadImageNet !== 'function') {
      throw new OptionError('--dataset', '--dataset imagenet needs @lm/data-imagenet with loadImageNet, which this installation lacks');
    }
    // the training scale range starts at 256 px: a larger crop needs a range that starts at the crop
    const big = c.imageSize !== undefined && c.imageSize > 256 ? { scaleRange: [c.imageSize, Math.round((c.imageSize * 480) / 256)] } : {};
    let ds: Dataset & { imageSize?: number };
    try {
      ds = await (m.loadImageNet as (opts: Record<string, unknown>) => Promise<Dataset & { imageSize?: number }>)({
        trainDir: c.data,
        valDir: c.valData,
        ...(c.imageSize ? { imageSize: c.imageSize } : {}),
        ...big,
      });
    } catch (e) {
      throw new DataError(`--dataset imagenet: ${(e as Error).message}`);
    }
    if (ds.train.size === 0) throw new DataError(`--data '${c.data}': no image in its class folders (looked for ${IMAGE_HINT}); give the ImageNet training folder`);
    if (ds.validation && ds.validation.size === 0) throw new DataError(`--val-data '${c.valData}': no image of the training classes in its class folders (looked for ${IMAGE_HINT})`);
    const side = ds.imageSize ?? 224;
    const describe = `ImageNet from ${c.data} (${ds.numClasses} classes, ${ds.train.size} train${ds.validation ? `, ${ds.validation.size} validation` : ''}, ${side}x${side})`;
    return { dataset: { ...ds, inputShape: [side, side, 3] }, description: describe, warnings: [], used: {} };
  }
  const cifar = await import('@lm/data-cifar');
  if (c.evalSplit === 'auto') {
    // the official test split when the data has one, else the validation carve
    if (c.dataset === 'synthetic') return loadData({ ...c, evalSplit: 'validation' }, o);
    const whole = await loadData({ ...c, evalSplit: 'test' }, o).catch(() => undefined);
    if (whole?.dataset.test) return whole;
    return loadData({ ...c, evalSplit: 'validation' }, o);
  }
  const synthetic = (): Dataset =>
    cifar.syntheticCifar({
      numClasses: c.syntheticClasses ?? (c.dataset === 'cifar100' ? 100 : 10),
      trainSize: c.syntheticSize + (c.evalSplit === 'test' ? 0 : c.valSize),
      testSize: c.evalSplit === 'test' ? Math.max(c.valSize, 100) : 0,
      validationSize: c.evalSplit === 'test' ? 0 : c.valSize,
      seed: c.seed,
    });
  const describe = (name: string, d: Dataset) =>
    `${name} from ${d.source ?? '?'} (${d.train.size} train${d.validation ? `, ${d.validation.size} validation` : ''}${d.test ? `, ${d.test.size} test` : ''})`;
  if (c.dataset === 'synthetic') {
    const d = synthetic();
    return { dataset: d, description: describe('synthetic CIFAR-like data', d), warnings: [], used: {} };
  }
  const label = c.dataset === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100';
  const env = cifarPathFromEnv(c.dataset);
  const warnings = env.warning ? [env.warning] : [];
  try {
    const d = await cifar.loadCifar({
      variant: c.dataset,
      path: c.data ?? env.path,
      download: c.download,
      validationSize: c.evalSplit === 'validation' ? c.valSize : 0,
      splitSeed: 0,
      progress: 'silent',
      onProgress: dataProgress(o.progress ?? 'auto'),
    });
    return { dataset: d, description: describe(label, d), warnings, used: c.data ? {} : { data: d.source } };
  } catch (e) {
    if (e instanceof cifar.CifarNotFoundError && c.syntheticFallback && !c.data) {
      const d = synthetic();
      return {
        dataset: d,
        description: describe('synthetic CIFAR-like data', d),
        notice: `${label} not found locally and not downloadable (${notFoundReason(e)}); training on the built-in synthetic dataset instead.`,
        warnings: [
          ...warnings,
          `WARNING: this run trains on SYNTHETIC data, not ${label}: its errors say nothing about ${label}. ` +
            `Give --data <archive>, set $${c.dataset === 'cifar10' ? 'LM_CIFAR10_PATH' : 'LM_CIFAR100_PATH'}, or --dataset ${c.dataset} to require the real data.`,
        ],
        used: { dataset: 'synthetic', syntheticClasses: d.numClasses },
      };
    }
    if (e instanceof cifar.CifarNotFoundError) {
      throw new DataError(
        `--dataset ${c.dataset}: ${label} ${c.data ? `not found at --data '${c.data}'` : `not found locally and not downloadable (${notFoundReason(e)})`}; ` +
          `give --data <archive or folder>, set $${c.dataset === 'cifar10' ? 'LM_CIFAR10_PATH' : 'LM_CIFAR100_PATH'}, or train on --dataset synthetic`,
      );
    }
    throw e;
  }
}

/** The held-out split evaluated each epoch, by config. */
export function heldOut(d: Dataset, which: 'validation' | 'test' | 'auto'): { name: 'validation' | 'test'; split: Split } | undefined {
  if (which === 'auto') return d.test ? { name: 'test', split: d.test } : heldOut(d, 'validation');
  if (which === 'test') {
    if (!d.test) throw new OptionError('--eval-split', '--eval-split test: this dataset has no test split; use --eval-split validation');
    return { name: 'test', split: d.test };
  }
  if (d.validation) return { name: 'validation', split: d.validation };
  if (d.test) return { name: 'test', split: d.test };
  return undefined;
}
