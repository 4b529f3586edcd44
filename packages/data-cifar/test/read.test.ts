import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadCifar, parseBatch, readCifarSource, readTarFile } from '../src/index.js';
import { C10_NAMES, makeCifar10, makeCifar100, makeRecords, tarHeader, tarPack, tmp } from './helpers.js';

const noCounts = { expectedRecords: false as const };

describe('tar reader', () => {
  it('reads members of a .tar.gz and a plain .tar, including GNU long names', async () => {
    const dir = tmp();
    const long = `${'d'.repeat(60)}/${'f'.repeat(70)}.bin`;
    const a = Buffer.from('hello');
    const b = Buffer.alloc(1025, 7);
    const tar = tarPack([{ name: 'x', dir: true }, { name: 'x/a.txt', data: a }, { name: long, data: b }, { name: 'x/empty', data: new Uint8Array(0) }]);
    writeFileSync(join(dir, 't.tar'), tar);
    writeFileSync(join(dir, 't.tgz'), gzipSync(tar));
    for (const f of ['t.tar', 't.tgz']) {
      const got: Record<string, Buffer | undefined> = {};
      const types: string[] = [];
      for await (const m of readTarFile(join(dir, f))) {
        got[m.name] = m.data;
        types.push(m.type);
      }
      expect(types).toEqual(['directory', 'file', 'file', 'file']);
      expect(got['x/a.txt']!.toString()).toBe('hello');
      expect(Buffer.compare(got[long]!, b)).toBe(0);
      expect(got['x/empty']!.length).toBe(0);
    }
  });

  it.skipIf(spawnSync('tar', ['--version']).status !== 0)('reads pax and GNU archives written by the system tar', async () => {
    const rel = makeCifar10({ perBatch: 3 });
    const deep = join(rel.dir, 'x'.repeat(90), 'y'.repeat(90));
    mkdirSync(deep, { recursive: true });
    cpSync(rel.folder, join(deep, 'cifar-10-batches-bin'), { recursive: true });
    for (const format of ['pax', 'gnu']) {
      const out = join(rel.dir, `${format}.tar.gz`);
      const r = spawnSync('tar', [`--format=${format}`, '-czf', out, '-C', rel.dir, join('x'.repeat(90), 'y'.repeat(90))]);
      expect(r.status).toBe(0);
      const raw = await readCifarSource(out, 'cifar10', noCounts);
      expect(raw.train.labels).toEqual(rel.train.labels);
      expect(Buffer.compare(Buffer.from(raw.train.images), Buffer.from(rel.train.images))).toBe(0);
    }
  });

  it('a member claiming more bytes than memory can hold is a format error naming the member, not a RangeError', async () => {
    const dir = tmp();
    const name = 'cifar-10-batches-bin/data_batch_1.bin';
    // 5e9 bytes: over Node's largest Buffer; the archive then ends (as a damaged header would leave it)
    writeFileSync(join(dir, 'huge.tar'), Buffer.concat([tarHeader(name, 5e9, '0'), Buffer.alloc(1024)]));
    const read = async () => {
      for await (const _ of readTarFile(join(dir, 'huge.tar'))) void _;
    };
    await expect(read()).rejects.toThrow(/huge\.tar.*member cifar-10-batches-bin\/data_batch_1\.bin claims 5000000000 bytes/s);
  });

  it('skips unwanted members without delivering data', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 't.tar'), tarPack([{ name: 'a', data: Buffer.alloc(600, 1) }, { name: 'b', data: Buffer.alloc(10, 2) }]));
    const out: Array<[string, number | undefined]> = [];
    for await (const m of readTarFile(join(dir, 't.tar'), (n) => n === 'b')) out.push([m.name, m.data?.length]);
    expect(out).toEqual([
      ['a', undefined],
      ['b', 10],
    ]);
  });
});

describe('CIFAR-10 binary release', () => {
  it('round-trips labels and pixels exactly from the .tar.gz (R,G,B planes -> HWC)', async () => {
    const rel = makeCifar10({ perBatch: 7, test: 5 });
    const raw = await readCifarSource(rel.archive, 'cifar10', noCounts);
    expect(raw.train.labels).toEqual(rel.train.labels);
    expect(Buffer.compare(Buffer.from(raw.train.images), Buffer.from(rel.train.images))).toBe(0);
    expect(raw.test!.labels).toEqual(rel.test!.labels);
    expect(Buffer.compare(Buffer.from(raw.test!.images), Buffer.from(rel.test!.images))).toBe(0);
    expect(raw.classNames).toEqual(C10_NAMES);
  });

  it('reads the extracted folder (or its parent) identically to the archive', async () => {
    const rel = makeCifar10({ perBatch: 4 });
    const fromArchive = await readCifarSource(rel.archive, 'cifar10', noCounts);
    for (const p of [rel.folder, rel.dir]) {
      const r = await readCifarSource(p, 'cifar10', noCounts);
      expect(r.train.labels).toEqual(fromArchive.train.labels);
      expect(Buffer.compare(Buffer.from(r.train.images), Buffer.from(fromArchive.train.images))).toBe(0);
      expect(r.test).toBeUndefined();
    }
  });

  it('maps plane order to HWC: R plane -> channel 0, G -> 1, B -> 2, row-major pixels', () => {
    const rec = Buffer.alloc(3073);
    rec[0] = 3;
    for (let p = 0; p < 1024; p++) {
      rec[1 + p] = p % 256; // R
      rec[1 + 1024 + p] = (p >> 2) % 256; // G
      rec[1 + 2048 + p] = 255 - (p % 256); // B
    }
    const { images, labels } = parseBatch(rec, 'one.bin', 'cifar10');
    expect(labels[0]).toBe(3);
    // pixel (row 5, col 7) = p = 167
    const p = 5 * 32 + 7;
    expect([images[p * 3], images[p * 3 + 1], images[p * 3 + 2]]).toEqual([p % 256, (p >> 2) % 256, 255 - (p % 256)]);
  });

  it('loads an archive of any name without a test batch: test undefined, validation carved', async () => {
    const rel = makeCifar10({ perBatch: 20, archiveName: 'cifar-10-train-binary.tar.gz' });
    const ds = await loadCifar({ path: rel.archive, ...noCounts, validationSize: 10 });
    expect(ds.test).toBeUndefined();
    expect(ds.train.size).toBe(90);
    expect(ds.validation!.size).toBe(10);
    expect(ds.numClasses).toBe(10);
    expect(ds.source).toBe(rel.archive);
  });

  it('enforces the official record counts by default', async () => {
    const rel = makeCifar10({ perBatch: 3 });
    await expect(readCifarSource(rel.archive, 'cifar10')).rejects.toThrow(
      /data_batch_\d\.bin: record count does not match: found 3 records, expected 10000/,
    );
  });
});

describe('CIFAR-100 binary release', () => {
  it('round-trips fine and coarse labels and pixels; label names read', async () => {
    const rel = makeCifar100({ train: 30, test: 6 });
    const raw = await readCifarSource(rel.archive, 'cifar100', noCounts);
    expect(raw.train.labels).toEqual(rel.train.labels);
    expect(raw.train.coarse).toEqual(rel.train.coarse);
    expect(Buffer.compare(Buffer.from(raw.train.images), Buffer.from(rel.train.images))).toBe(0);
    expect(raw.test!.labels).toEqual(rel.test!.labels);
    expect(raw.classNames[42]).toBe('fine42');
    expect(raw.coarseNames![19]).toBe('coarse19');
  });

  it('label modes: fine (100 classes) and coarse (20 classes)', async () => {
    const rel = makeCifar100({ train: 30, test: 6 });
    const fine = await loadCifar({ variant: 'cifar100', path: rel.folder, ...noCounts });
    expect(fine.numClasses).toBe(100);
    expect(fine.labelMode).toBe('fine');
    expect(fine.train.labels).toEqual(rel.train.labels);
    expect(fine.validation).toBeUndefined(); // a test batch exists: no carve by default
    const coarse = await loadCifar({ variant: 'cifar100', path: rel.archive, labelMode: 'coarse', ...noCounts });
    expect(coarse.numClasses).toBe(20);
    expect(coarse.classNames).toHaveLength(20);
    expect(coarse.train.labels).toEqual(rel.train.coarse);
    for await (const b of coarse.test!.batches({ batchSize: 4 })) {
      expect(b.ys.shape).toEqual([4, 20]);
      b.xs.dispose();
      b.ys.dispose();
      break;
    }
  });

  it('rejects a CIFAR-10 record size in train.bin', () => {
    const r = makeRecords(5, 'cifar10', 3);
    expect(() => parseBatch(r.bin, 'train.bin', 'cifar100')).toThrow(/train\.bin: truncated or malformed batch file/);
  });
});
