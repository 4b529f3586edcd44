import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CifarFormatError, loadCifar, readCifarSource } from '../src/index.js';
import { makeCifar10, makeCifar100, makeRecords, tarPack, tmp } from './helpers.js';

const any = { expectedRecords: false as const };

async function failure(p: Promise<unknown>): Promise<CifarFormatError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(CifarFormatError);
    return e as CifarFormatError;
  }
  throw new Error('expected a CifarFormatError');
}

describe('bad input gives an error naming the file and the problem', () => {
  it('truncated batch file (extracted folder)', async () => {
    const rel = makeCifar10({ perBatch: 6 });
    const f = join(rel.folder, 'data_batch_3.bin');
    truncateSync(f, 6 * 3073 - 100);
    const e = await failure(readCifarSource(rel.folder, 'cifar10', any));
    expect(e.file).toBe(f);
    expect(e.message).toContain(f);
    expect(e.message).toMatch(/truncated or malformed batch file: 18338 bytes is not a whole number of 3073-byte CIFAR-10 records \(5 full records and 2973 extra bytes\)/);
  });

  it('truncated batch file inside an archive', async () => {
    const good = makeRecords(4, 'cifar10', 5).bin;
    const rel = makeCifar10({ perBatch: 4, override: { 'data_batch_2.bin': good.subarray(0, good.length - 1) } });
    const e = await failure(readCifarSource(rel.archive, 'cifar10', any));
    expect(e.message).toContain(`${rel.archive}:cifar-10-batches-bin/data_batch_2.bin`);
    expect(e.message).toMatch(/truncated or malformed batch file/);
  });

  it('record count that does not match', async () => {
    const rel = makeCifar10({ perBatch: 5 });
    const e = await failure(
      readCifarSource(rel.archive, 'cifar10', { expectedRecords: { 'data_batch_1.bin': 5, 'data_batch_2.bin': 5, 'data_batch_3.bin': 5, 'data_batch_4.bin': 6, 'data_batch_5.bin': 5 } }),
    );
    expect(e.message).toContain('cifar-10-batches-bin/data_batch_4.bin');
    expect(e.message).toMatch(/record count does not match: found 5 records, expected 6/);
    const e100 = await failure(readCifarSource(makeCifar100({ train: 7 }).folder, 'cifar100'));
    expect(e100.message).toMatch(/train\.bin: record count does not match: found 7 records, expected 50000/);
  });

  it('wrong archive: CIFAR-100 read as CIFAR-10 and vice versa', async () => {
    const c100 = makeCifar100({ train: 4 });
    const e = await failure(readCifarSource(c100.archive, 'cifar10', any));
    expect(e.file).toBe(c100.archive);
    expect(e.message).toMatch(/wrong archive: no CIFAR-10 training batches .* looks like CIFAR-100/);
    const c10 = makeCifar10({ perBatch: 2 });
    const e2 = await failure(readCifarSource(c10.archive, 'cifar100', any));
    expect(e2.message).toMatch(/wrong archive: no CIFAR-100 train\.bin found - this looks like CIFAR-10/);
  });

  it('wrong archive: not a tar at all, gzip of garbage, unrelated tar, truncated gzip', async () => {
    const dir = tmp();
    const junk = join(dir, 'junk.tar.gz');
    writeFileSync(junk, Buffer.from('this is not an archive at all, not even close'.repeat(30)));
    let e = await failure(readCifarSource(junk, 'cifar10'));
    expect(e.message).toBe(`${junk}: wrong archive: not a tar archive (no valid tar header at the start)`);
    const gzJunk = join(dir, 'gzjunk.tar.gz');
    writeFileSync(gzJunk, gzipSync(Buffer.alloc(4096, 0x41)));
    e = await failure(readCifarSource(gzJunk, 'cifar10'));
    expect(e.message).toContain(`${gzJunk}: wrong archive`);
    const other = join(dir, 'other.tar.gz');
    writeFileSync(other, gzipSync(tarPack([{ name: 'README', data: Buffer.from('hi') }])));
    e = await failure(readCifarSource(other, 'cifar10'));
    expect(e.message).toMatch(/other\.tar\.gz: wrong archive: no CIFAR-10 training batches \(data_batch_1\.\.5\.bin\) found; it contains README/);
    const rel = makeCifar10({ perBatch: 3 });
    const cut = join(dir, 'cut.tar.gz');
    const bytes = readFileSync(rel.archive);
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    e = await failure(readCifarSource(cut, 'cifar10', any));
    expect(e.message).toMatch(/cut\.tar\.gz: corrupt or truncated gzip stream/);
  });

  it('truncated tar (uncompressed) ends inside a member', async () => {
    const rel = makeCifar10({ perBatch: 3 });
    const tar = tarPack(Object.entries(rel.files).map(([k, v]) => ({ name: `cifar-10-batches-bin/${k}`, data: v })));
    const f = join(tmp(), 'cut.tar');
    writeFileSync(f, tar.subarray(0, 512 + 4000));
    const e = await failure(readCifarSource(f, 'cifar10', any));
    expect(e.message).toMatch(/cut\.tar: truncated archive: ends inside member cifar-10-batches-bin\/data_batch_4\.bin \(4000 of 9219 bytes present\)/);
  });

  it('missing training batches', async () => {
    const rel = makeCifar10({ perBatch: 2, override: { 'data_batch_5.bin': null } });
    const e = await failure(readCifarSource(rel.archive, 'cifar10', any));
    expect(e.message).toBe(`${rel.archive}: incomplete CIFAR-10 release: missing data_batch_5.bin`);
  });

  it('label out of range (CIFAR-10 and CIFAR-100 coarse/fine)', async () => {
    const r = makeRecords(3, 'cifar10', 7);
    r.bin[3073 * 2] = 10;
    const rel = makeCifar10({ perBatch: 3, override: { 'data_batch_1.bin': r.bin } });
    const e = await failure(loadCifar({ path: rel.archive, ...any }));
    expect(e.message).toContain('cifar-10-batches-bin/data_batch_1.bin');
    expect(e.message).toMatch(/label out of range: record 2 has label 10, expected 0\.\.9/);
    const r100 = makeRecords(4, 'cifar100', 8);
    r100.bin[3074 * 1 + 1] = 100;
    const e2 = await failure(readCifarSource(makeCifar100({ train: 4, override: { 'train.bin': r100.bin } }).folder, 'cifar100', any));
    expect(e2.message).toMatch(/train\.bin: label out of range: record 1 has fine label 100, expected 0\.\.99/);
    r100.bin[3074 * 1 + 1] = 5;
    r100.bin[3074 * 3] = 20;
    const e3 = await failure(readCifarSource(makeCifar100({ train: 4, override: { 'train.bin': r100.bin } }).archive, 'cifar100', any));
    expect(e3.message).toMatch(/train\.bin: label out of range: record 3 has coarse label 20, expected 0\.\.19/);
  });

  it('label names file with the wrong number of names', async () => {
    const rel = makeCifar10({ perBatch: 2, override: { 'batches.meta.txt': Buffer.from('a\nb\nc\n') } });
    const e = await failure(readCifarSource(rel.archive, 'cifar10', any));
    expect(e.message).toMatch(/batches\.meta\.txt: wrong number of label names: found 3, expected 10/);
  });

  it('an empty batch file', async () => {
    const rel = makeCifar10({ perBatch: 2, override: { 'data_batch_2.bin': Buffer.alloc(0) } });
    const e = await failure(readCifarSource(rel.folder, 'cifar10', any));
    expect(e.message).toBe(`${join(rel.folder, 'data_batch_2.bin')}: empty batch file (0 bytes)`);
  });
});
