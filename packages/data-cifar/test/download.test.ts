import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CifarChecksumError,
  CifarNotFoundError,
  downloadVerified,
  DownloadError,
  loadCifar,
  ProgressReporter,
} from '../src/index.js';
import { makeCifar10, tmp, withEnv } from './helpers.js';

const rel = makeCifar10({ perBatch: 40 });
const body = readFileSync(rel.archive);
const md5 = createHash('md5').update(body).digest('hex');
const sha256 = createHash('sha256').update(body).digest('hex');

interface Mode {
  cut: number; // number of upcoming requests to cut mid-body
  corrupt: boolean;
  ignoreRange: boolean;
  status?: number;
}
let mode: Mode;
const requests: Array<{ range?: string }> = [];
let server: http.Server;
let base = '';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push({ range: req.headers.range });
    if (mode.status) {
      res.writeHead(mode.status);
      res.end('nope');
      return;
    }
    let data = body;
    if (mode.corrupt) {
      data = Buffer.from(body);
      data[data.length >> 1] ^= 0xff;
    }
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m && !mode.ignoreRange) {
      start = Number(m[1]);
      if (start >= data.length) {
        res.writeHead(416, { 'content-range': `bytes */${data.length}` });
        res.end();
        return;
      }
      res.writeHead(206, {
        'content-length': data.length - start,
        'content-range': `bytes ${start}-${data.length - 1}/${data.length}`,
        'accept-ranges': 'bytes',
      });
    } else res.writeHead(200, { 'content-length': data.length, 'accept-ranges': 'bytes' });
    const rest = data.subarray(start);
    if (mode.cut > 0) {
      mode.cut--;
      // Send part of the body, then drop the connection.
      res.write(rest.subarray(0, Math.floor(rest.length / 3)), () => res.socket?.destroy());
      return;
    }
    res.end(rest);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  mode = { cut: 0, corrupt: false, ignoreRange: false };
  requests.length = 0;
});

const quiet = { progress: 'silent' as const, retryDelayMs: 0 };

describe('download', () => {
  it('downloads, verifies md5 and renames into place', async () => {
    const dest = join(tmp(), 'sub', 'a.tar.gz');
    const seen: number[] = [];
    await downloadVerified({ url: `${base}/a`, dest, md5, ...quiet, onProgress: (b) => seen.push(b) });
    expect(readFileSync(dest).equals(body)).toBe(true);
    expect(existsSync(`${dest}.part`)).toBe(false);
    expect(seen[seen.length - 1]).toBe(body.length);
    expect(requests).toEqual([{ range: undefined }]);
  });

  it('resumes with a Range request after the server drops the connection mid-body', async () => {
    mode.cut = 1;
    const dest = join(tmp(), 'b.tar.gz');
    await downloadVerified({ url: `${base}/b`, dest, sha256, ...quiet });
    expect(readFileSync(dest).equals(body)).toBe(true);
    expect(requests.length).toBe(2);
    expect(requests[0].range).toBeUndefined();
    expect(requests[1].range).toMatch(/^bytes=[1-9]\d*-$/);
  });

  it('keeps the partial file when all attempts fail, and a later call resumes from it', async () => {
    mode.cut = 1;
    const dest = join(tmp(), 'c.tar.gz');
    await expect(downloadVerified({ url: `${base}/c`, dest, md5, attempts: 1, ...quiet })).rejects.toThrow(DownloadError);
    expect(existsSync(dest)).toBe(false);
    const partial = statSync(`${dest}.part`).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(body.length);
    await downloadVerified({ url: `${base}/c`, dest, md5, attempts: 1, ...quiet });
    expect(requests[1].range).toBe(`bytes=${partial}-`);
    expect(readFileSync(dest).equals(body)).toBe(true);
  });

  it('starts over when the server ignores the Range request', async () => {
    mode.cut = 1;
    mode.ignoreRange = true;
    const dest = join(tmp(), 'd.tar.gz');
    await downloadVerified({ url: `${base}/d`, dest, md5, ...quiet });
    expect(requests[1].range).toBeDefined();
    expect(readFileSync(dest).equals(body)).toBe(true);
  });

  it('a complete .part left behind is verified and used (416 on resume)', async () => {
    const dest = join(tmp(), 'e.tar.gz');
    writeFileSync(`${dest}.part`, body);
    await downloadVerified({ url: `${base}/e`, dest, md5, ...quiet });
    expect(readFileSync(dest).equals(body)).toBe(true);
  });

  it('a stale .part from another file is discarded after a failed verification and the transfer starts over', async () => {
    const dest = join(tmp(), 's.tar.gz');
    writeFileSync(`${dest}.part`, Buffer.alloc(5000, 0x55));
    await downloadVerified({ url: `${base}/s`, dest, md5, ...quiet });
    expect(requests.map((r) => r.range)).toEqual(['bytes=5000-', undefined]);
    expect(readFileSync(dest).equals(body)).toBe(true);
  });

  it('corrupted body: checksum error naming the file and both checksums; nothing kept', async () => {
    mode.corrupt = true;
    const dest = join(tmp(), 'f.tar.gz');
    const err = await downloadVerified({ url: `${base}/f`, dest, md5, ...quiet }).catch((e) => e);
    expect(err).toBeInstanceOf(CifarChecksumError);
    expect(err.message).toContain(dest);
    expect(err.message).toContain(`expected md5 ${md5}`);
    expect(err.actual).toMatch(/^[0-9a-f]{32}$/);
    expect(err.actual).not.toBe(md5);
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(`${dest}.part`)).toBe(false);
  });

  it('progress reporter: plain lines off a TTY, a redrawn bar on a TTY', () => {
    const out: string[] = [];
    const stream = { isTTY: false, write: (s: string) => out.push(s) } as unknown as NodeJS.WriteStream;
    const r = new ProgressReporter('dl', 1000, 'auto', stream);
    for (let b = 0; b <= 1000; b += 50) r.update(b);
    r.done('ok');
    expect(out.filter((l) => /^dl: \d+% /.test(l)).length).toBe(11);
    expect(out.every((l) => l.endsWith('\n'))).toBe(true);
    const tty: string[] = [];
    const t = new ProgressReporter('dl', 1000, 'auto', { isTTY: true, write: (s: string) => tty.push(s) } as unknown as NodeJS.WriteStream);
    t.update(500, true);
    expect(tty[0]).toMatch(/^\rdl \[#{15}\.{15}\] 50\.0% /);
    const silent: string[] = [];
    new ProgressReporter('dl', 1000, 'silent', { isTTY: true, write: (s: string) => silent.push(s) } as unknown as NodeJS.WriteStream).update(1, true);
    expect(silent).toEqual([]);
  });
});

describe('loadCifar: locate, download, cache', () => {
  const c10 = { expectedRecords: false as const, ...quiet };

  it('downloads into the cache folder when nothing is found, then uses the cache', async () => {
    const cacheDir = tmp();
    const ds = await loadCifar({ cacheDir, url: `${base}/x`, md5, ...c10 });
    const dest = join(cacheDir, 'cifar10', 'cifar-10-binary.tar.gz');
    expect(ds.source).toBe(dest);
    expect(ds.train.size + ds.validation!.size).toBe(200);
    expect(requests.length).toBe(1);
    const again = await loadCifar({ cacheDir, url: `${base}/x`, md5, ...c10 });
    expect(again.source).toBe(dest);
    expect(requests.length).toBe(1);
  });

  it('a corrupted download is never used', async () => {
    mode.corrupt = true;
    const cacheDir = tmp();
    await expect(loadCifar({ cacheDir, url: `${base}/y`, md5, ...c10 })).rejects.toBeInstanceOf(CifarChecksumError);
    await expect(loadCifar({ cacheDir, download: false, ...c10 })).rejects.toBeInstanceOf(CifarNotFoundError);
  });

  it('URL and checksum from environment variables', async () => {
    const cacheDir = tmp();
    await withEnv({ LM_CIFAR10_URL: `${base}/env`, LM_CIFAR10_MD5: md5 }, async () => {
      const ds = await loadCifar({ cacheDir, ...c10 });
      expect(ds.source).toBe(join(cacheDir, 'cifar10', 'cifar-10-binary.tar.gz'));
    });
  });

  it('network failure -> CifarNotFoundError saying where it looked', async () => {
    mode.status = 404;
    const cacheDir = tmp();
    const err = await loadCifar({ cacheDir, url: `${base}/missing`, md5, ...c10 }).catch((e) => e);
    expect(err).toBeInstanceOf(CifarNotFoundError);
    expect(err.message).toContain(join(cacheDir, 'cifar10'));
    expect(err.message).toContain('HTTP 404');
    expect(requests.length).toBe(1); // 4xx is not retried
    const closed = await loadCifar({ cacheDir, url: 'http://127.0.0.1:9/none', md5, attempts: 1, ...c10 }).catch((e) => e);
    expect(closed).toBeInstanceOf(CifarNotFoundError);
  });

  it('LM_CIFAR_DOWNLOAD=0 turns downloading off; $LM_SHARED_DIR/datasets/<variant> is searched', async () => {
    const cacheDir = tmp();
    await withEnv({ LM_CIFAR_DOWNLOAD: '0' }, async () => {
      await expect(loadCifar({ cacheDir, url: `${base}/z`, md5, ...c10 })).rejects.toBeInstanceOf(CifarNotFoundError);
      expect(requests.length).toBe(0);
      const shared = tmp();
      const rel2 = makeCifar10({ perBatch: 2, dir: join(shared, 'datasets', 'cifar10'), archiveName: 'cifar-10-train-binary.tar.gz' });
      await withEnv({ LM_SHARED_DIR: shared }, async () => {
        const ds = await loadCifar({ cacheDir, ...c10 });
        expect(ds.source).toBe(rel2.folder); // the extracted folder is preferred over an archive of another name
      });
    });
  });

  it('download off -> CifarNotFoundError listing the places searched', async () => {
    const cacheDir = tmp();
    const err = await loadCifar({ cacheDir, download: false, ...c10 }).catch((e) => e);
    expect(err).toBeInstanceOf(CifarNotFoundError);
    expect(err.message).toMatch(/not found locally \(looked in: .*\) and download is off/);
    expect(err.searched).toContain(join(cacheDir, 'cifar10'));
    const missing = await loadCifar({ path: join(cacheDir, 'nope.tar.gz'), ...c10 }).catch((e) => e);
    expect(missing).toBeInstanceOf(CifarNotFoundError);
    expect(missing.message).toContain('nope.tar.gz does not exist');
  });

  it('finds data through $LM_CIFAR10_PATH, the cache folder, or a folder holding an archive of any name', async () => {
    const a = makeCifar10({ perBatch: 3, archiveName: 'cifar-10-train-binary.tar.gz' });
    await withEnv({ LM_CIFAR10_PATH: a.archive }, async () => {
      expect((await loadCifar({ cacheDir: tmp(), download: false, ...c10 })).source).toBe(a.archive);
    });
    const cacheDir = tmp();
    const b = makeCifar10({ perBatch: 3, dir: join(cacheDir, 'cifar10') });
    expect((await loadCifar({ cacheDir, download: false, ...c10 })).source).toBe(b.archive);
    // A folder holding only an archive (like ../shared/datasets/cifar10).
    const holder = tmp();
    const c = makeCifar10({ perBatch: 3, seed: 5 });
    const copy = join(holder, 'cifar-10-train-binary.tar.gz');
    writeFileSync(copy, readFileSync(c.archive));
    const viaFolder = await loadCifar({ path: holder, ...c10, validationSize: 0 });
    expect(viaFolder.source).toBe(copy);
    expect(Array.from(viaFolder.train.labels)).toEqual(Array.from(c.train.labels));
    // A folder with the extracted files reads them.
    expect((await loadCifar({ path: c.dir, ...c10, validationSize: 0 })).source).toBe(c.dir);
  });
});
