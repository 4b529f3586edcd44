/** Reads the CIFAR binary release from a `.tar.gz`/`.tar` archive (streaming) or an extracted folder. */
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CifarFormatError } from './errors.js';
import {
  CIFAR100_COARSE_NAMES,
  CIFAR100_FINE_NAMES,
  CIFAR10_NAMES,
  IMAGE_BYTES,
  parseBatch,
  parseLabelNames,
  type ParsedBatch,
  type Variant,
} from './format.js';
import { OFFICIAL } from './locate.js';
import { readTarFile } from './tar.js';

export interface RawCifar {
  variant: Variant;
  /** Training records in canonical order (data_batch_1..5 for CIFAR-10). */
  train: ParsedBatch;
  test?: ParsedBatch;
  /** CIFAR-10 names, or CIFAR-100 fine names. */
  classNames: string[];
  /** CIFAR-100 coarse names. */
  coarseNames?: string[];
  /** The archive or folder read. */
  source: string;
}

export interface ReadProgress {
  phase: 'download' | 'read';
  file: string;
  bytes: number;
  total?: number;
}

export interface ReadOptions {
  /**
   * Expected record counts per batch file, by file name (`data_batch_1.bin`, `test_batch.bin`, `train.bin`, ...).
   * Defaults to the official counts (10,000 per CIFAR-10 batch, 50,000/10,000 for CIFAR-100 train/test);
   * `false` accepts any count (used for small generated archives).
   */
  expectedRecords?: false | Record<string, number>;
  onProgress?: (p: ReadProgress) => void;
}

const OFFICIAL_COUNTS: Record<Variant, Record<string, number>> = {
  cifar10: {
    'data_batch_1.bin': 10000,
    'data_batch_2.bin': 10000,
    'data_batch_3.bin': 10000,
    'data_batch_4.bin': 10000,
    'data_batch_5.bin': 10000,
    'test_batch.bin': 10000,
  },
  cifar100: { 'train.bin': 50000, 'test.bin': 10000 },
};

const C10_TRAIN = /^data_batch_([1-5])\.bin$/;
const WANTED: Record<Variant, (base: string) => boolean> = {
  cifar10: (b) => C10_TRAIN.test(b) || b === 'test_batch.bin' || b === 'batches.meta.txt',
  cifar100: (b) => b === 'train.bin' || b === 'test.bin' || b === 'coarse_label_names.txt' || b === 'fine_label_names.txt',
};
const OTHER_VARIANT_MARKERS: Record<Variant, (base: string) => boolean> = {
  cifar10: (b) => b === 'train.bin' || b === 'fine_label_names.txt',
  cifar100: (b) => C10_TRAIN.test(b) || b === 'batches.meta.txt',
};

/** Reads an archive or folder. `path` may be the archive, the extracted batches folder, or its parent. */
export async function readCifarSource(path: string, variant: Variant, opts: ReadOptions = {}): Promise<RawCifar> {
  const members = new Map<string, { data: Uint8Array; label: string }>();
  const seen: string[] = [];
  const wanted = WANTED[variant];
  if (!existsSync(path)) throw new CifarFormatError(path, 'does not exist');
  const st = statSync(path);
  if (st.isFile()) {
    const total = st.size;
    const onBytes = opts.onProgress ? (b: number) => opts.onProgress!({ phase: 'read', file: path, bytes: b, total }) : undefined;
    for await (const m of readTarFile(path, (n) => wanted(basename(n)), onBytes)) {
      if (m.type !== 'file') continue;
      seen.push(m.name);
      const b = basename(m.name);
      if (!m.data) continue;
      if (members.has(b)) throw new CifarFormatError(`${path}:${m.name}`, `duplicate member (also ${members.get(b)!.label})`);
      members.set(b, { data: m.data, label: `${path}:${m.name}` });
    }
  } else {
    const dir = resolveFolder(path, variant);
    for (const f of await readdir(dir)) {
      seen.push(f);
      if (!wanted(f)) continue;
      const full = join(dir, f);
      if (!statSync(full).isFile()) continue;
      members.set(f, { data: await readFile(full), label: full });
    }
  }
  return assemble(path, variant, members, seen, opts);
}

/** The folder that holds the batch files: `path` itself or `path/cifar-10-batches-bin` / `path/cifar-100-binary`. */
function resolveFolder(path: string, variant: Variant): string {
  const inner = join(path, OFFICIAL[variant].folder);
  if (existsSync(inner) && statSync(inner).isDirectory()) return inner;
  return path;
}

function assemble(
  path: string,
  variant: Variant,
  members: Map<string, { data: Uint8Array; label: string }>,
  seen: string[],
  opts: ReadOptions,
): RawCifar {
  const counts = opts.expectedRecords === false ? undefined : { ...OFFICIAL_COUNTS[variant], ...(opts.expectedRecords ?? {}) };
  const expected = (b: string) => (counts ? counts[b] : undefined);
  const listSeen = () => {
    const s = seen.slice(0, 8).join(', ');
    return seen.length === 0 ? 'nothing' : seen.length > 8 ? `${s}, ... (${seen.length} entries)` : s;
  };
  const parse = (b: string): ParsedBatch => {
    const m = members.get(b)!;
    const r = parseBatch(m.data, m.label, variant, expected(b));
    members.delete(b); // release the raw bytes early
    return r;
  };
  if (variant === 'cifar10') {
    const present = [1, 2, 3, 4, 5].filter((i) => members.has(`data_batch_${i}.bin`));
    if (present.length === 0) {
      const other = seen.some((s) => OTHER_VARIANT_MARKERS.cifar10(basename(s)));
      throw new CifarFormatError(
        path,
        `wrong archive: no CIFAR-10 training batches (data_batch_1..5.bin) found${other ? ' - this looks like CIFAR-100 (use variant "cifar100")' : ''}; it contains ${listSeen()}`,
      );
    }
    if (present.length < 5) {
      const missing = [1, 2, 3, 4, 5].filter((i) => !present.includes(i)).map((i) => `data_batch_${i}.bin`);
      throw new CifarFormatError(path, `incomplete CIFAR-10 release: missing ${missing.join(', ')}`);
    }
    const batches = present.map((i) => parse(`data_batch_${i}.bin`));
    const train = concat(batches);
    const test = members.has('test_batch.bin') ? parse('test_batch.bin') : undefined;
    const meta = members.get('batches.meta.txt');
    const classNames = meta ? parseLabelNames(Buffer.from(meta.data).toString('utf8'), meta.label, 10) : [...CIFAR10_NAMES];
    return { variant, train, test, classNames, source: path };
  }
  if (!members.has('train.bin')) {
    const other = seen.some((s) => OTHER_VARIANT_MARKERS.cifar100(basename(s)));
    throw new CifarFormatError(
      path,
      `wrong archive: no CIFAR-100 train.bin found${other ? ' - this looks like CIFAR-10 (use variant "cifar10")' : ''}; it contains ${listSeen()}`,
    );
  }
  const train = parse('train.bin');
  const test = members.has('test.bin') ? parse('test.bin') : undefined;
  const fine = members.get('fine_label_names.txt');
  const coarse = members.get('coarse_label_names.txt');
  const classNames = fine ? parseLabelNames(Buffer.from(fine.data).toString('utf8'), fine.label, 100) : [...CIFAR100_FINE_NAMES];
  const coarseNames = coarse
    ? parseLabelNames(Buffer.from(coarse.data).toString('utf8'), coarse.label, 20)
    : [...CIFAR100_COARSE_NAMES];
  return { variant, train, test, classNames, coarseNames, source: path };
}

function concat(parts: ParsedBatch[]): ParsedBatch {
  if (parts.length === 1) return parts[0];
  const n = parts.reduce((s, p) => s + p.labels.length, 0);
  const images = new Uint8Array(n * IMAGE_BYTES);
  const labels = new Int32Array(n);
  let o = 0;
  for (const p of parts) {
    images.set(p.images, o * IMAGE_BYTES);
    labels.set(p.labels, o);
    o += p.labels.length;
  }
  return { images, labels };
}
