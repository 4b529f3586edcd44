/** Test helpers: a small tar writer and generators of tiny CIFAR-10 / CIFAR-100 releases. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Rng } from '@lm/data-core';

export interface TarInput {
  name: string;
  data?: Uint8Array;
  dir?: boolean;
}

/** One ustar header block (checksum filled in). */
export function tarHeader(name: string, size: number, flag: string): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(flag, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h[i];
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

function padded(data: Uint8Array): Buffer[] {
  const pad = (512 - (data.length % 512)) % 512;
  return [Buffer.from(data.buffer, data.byteOffset, data.byteLength), Buffer.alloc(pad)];
}

/** A ustar archive; names longer than 100 bytes get a GNU `L` long-name member. */
export function tarPack(entries: TarInput[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const name = e.dir && !e.name.endsWith('/') ? `${e.name}/` : e.name;
    if (Buffer.byteLength(name) > 100) {
      const nb = Buffer.from(name + '\0');
      parts.push(tarHeader('././@LongLink', nb.length, 'L'), ...padded(nb));
    }
    const data = e.data ?? new Uint8Array(0);
    parts.push(tarHeader(name, e.dir ? 0 : data.length, e.dir ? '5' : '0'));
    if (!e.dir) parts.push(...padded(data));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

const made: string[] = [];

/** A fresh temporary folder, removed after the test file by `cleanupTmp` (see setup.ts). */
export function tmp(prefix = 'lm-cifar-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

export function cleanupTmp(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

export interface Records {
  /** Raw records in the official layout. */
  bin: Buffer;
  /** Expected HWC images. */
  images: Uint8Array;
  labels: Int32Array;
  coarse?: Int32Array;
}

/** `n` random records; CIFAR-100 records have a coarse and a fine label byte. */
export function makeRecords(n: number, variant: 'cifar10' | 'cifar100', seed: number): Records {
  const rng = new Rng(seed);
  const head = variant === 'cifar10' ? 1 : 2;
  const rec = 3072 + head;
  const bin = Buffer.alloc(n * rec);
  const images = new Uint8Array(n * 3072);
  const labels = new Int32Array(n);
  const coarse = variant === 'cifar100' ? new Int32Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const base = i * rec;
    if (variant === 'cifar10') {
      labels[i] = i % 10;
      bin[base] = labels[i];
    } else {
      labels[i] = rng.int(100);
      coarse![i] = labels[i] % 20;
      bin[base] = coarse![i];
      bin[base + 1] = labels[i];
    }
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < 1024; p++) {
        const v = rng.int(256);
        bin[base + head + c * 1024 + p] = v;
        images[i * 3072 + p * 3 + c] = v;
      }
    }
  }
  return coarse ? { bin, images, labels, coarse } : { bin, images, labels };
}

function cat(parts: Records[]): Records {
  const n = parts.reduce((s, p) => s + p.labels.length, 0);
  const images = new Uint8Array(n * 3072);
  const labels = new Int32Array(n);
  let o = 0;
  for (const p of parts) {
    images.set(p.images, o * 3072);
    labels.set(p.labels, o);
    o += p.labels.length;
  }
  return { bin: Buffer.concat(parts.map((p) => p.bin)), images, labels };
}

export interface Release {
  dir: string;
  archive: string;
  folder: string;
  files: Record<string, Buffer>;
  train: Records;
  test?: Records;
}

export const C10_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** Options shared by `makeCifar10` and `makeCifar100`. */
interface ReleaseOptions {
  test?: number;
  seed?: number;
  archiveName?: string;
  dir?: string;
  /** Replaces member contents (for bad-input tests); `null` drops a member. */
  override?: Record<string, Buffer | null>;
}

/** Writes a tiny CIFAR-10 release: `<dir>/<archiveName>` (tar.gz) and the extracted `<dir>/cifar-10-batches-bin/`. */
export function makeCifar10(opts: ReleaseOptions & { perBatch?: number }): Release {
  const perBatch = opts.perBatch ?? 12;
  const seed = opts.seed ?? 1;
  const dir = opts.dir ?? tmp();
  const batches = [1, 2, 3, 4, 5].map((i) => makeRecords(perBatch, 'cifar10', seed * 100 + i));
  const test = opts.test ? makeRecords(opts.test, 'cifar10', seed * 100 + 9) : undefined;
  const files: Record<string, Buffer> = {};
  // Unordered like the real archive.
  for (const i of [4, 5, 2]) files[`data_batch_${i}.bin`] = batches[i - 1].bin;
  files['batches.meta.txt'] = Buffer.from(C10_NAMES.join('\n') + '\n\n');
  for (const i of [1, 3]) files[`data_batch_${i}.bin`] = batches[i - 1].bin;
  if (test) files['test_batch.bin'] = test.bin;
  return writeRelease(dir, 'cifar-10-batches-bin', opts.archiveName ?? 'cifar-10-binary.tar.gz', files, opts.override, cat(batches), test);
}

export function makeCifar100(opts: ReleaseOptions & { train?: number }): Release {
  const seed = opts.seed ?? 2;
  const dir = opts.dir ?? tmp();
  const train = makeRecords(opts.train ?? 40, 'cifar100', seed * 100 + 1);
  const test = opts.test ? makeRecords(opts.test, 'cifar100', seed * 100 + 2) : undefined;
  const files: Record<string, Buffer> = {
    'coarse_label_names.txt': Buffer.from(Array.from({ length: 20 }, (_, i) => `coarse${i}`).join('\n') + '\n'),
    'fine_label_names.txt': Buffer.from(Array.from({ length: 100 }, (_, i) => `fine${i}`).join('\n') + '\n'),
    'train.bin': train.bin,
  };
  if (test) files['test.bin'] = test.bin;
  return writeRelease(dir, 'cifar-100-binary', opts.archiveName ?? 'cifar-100-binary.tar.gz', files, opts.override, train, test);
}

function writeRelease(
  dir: string,
  folderName: string,
  archiveName: string,
  files: Record<string, Buffer>,
  override: ReleaseOptions['override'],
  train: Records,
  test: Records | undefined,
): Release {
  for (const [k, v] of Object.entries(override ?? {})) {
    if (v === null) delete files[k];
    else files[k] = v;
  }
  mkdirSync(dir, { recursive: true });
  const folder = join(dir, folderName);
  mkdirSync(folder, { recursive: true });
  for (const [k, v] of Object.entries(files)) writeFileSync(join(folder, k), v);
  const tar = tarPack([
    { name: folderName, dir: true },
    ...Object.entries(files).map(([k, v]) => ({ name: `${folderName}/${k}`, data: v })),
  ]);
  const archive = join(dir, archiveName);
  writeFileSync(archive, gzipSync(tar, { level: 1 }));
  return { dir, archive, folder, files, train, test };
}

/** Runs `fn` with the given environment variables set (undefined: unset), then restores their previous values. */
export async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

/**
 * Every test starts without the caller's `LM_*` variables (LM_SHARED_DIR, LM_CIFAR10_PATH, LM_DATA_DIR...,
 * which change where data is found), and the caller's values are back afterwards.
 */
export function isolateLmEnvironment(hooks: { beforeEach: (f: () => void) => void; afterEach: (f: () => void) => void }): void {
  let saved: Record<string, string> = {};
  const lm = () => Object.keys(process.env).filter((k) => k.startsWith('LM_'));
  hooks.beforeEach(() => {
    saved = Object.fromEntries(lm().map((k) => [k, process.env[k]!]));
    for (const k of lm()) delete process.env[k];
  });
  hooks.afterEach(() => {
    for (const k of lm()) delete process.env[k];
    Object.assign(process.env, saved);
  });
}
