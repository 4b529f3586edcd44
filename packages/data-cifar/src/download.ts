/**
 * Resumable, verified download: bytes go to `<file>.part` (resumed with an HTTP Range request after an
 * interruption), the checksum is verified, and only then is the file renamed into place. A file that fails
 * verification is deleted; nothing half-downloaded or unverified is ever used.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, rename, rm, truncate } from 'node:fs/promises';
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CifarChecksumError } from './errors.js';
import { ProgressReporter, type ProgressMode } from './progress.js';

export interface DownloadOptions {
  url: string;
  /** Final path; the transfer goes to `${dest}.part` first. */
  dest: string;
  /** Expected md5 (hex). At least one of md5/sha256 is required. */
  md5?: string;
  sha256?: string;
  /** Transfer attempts, each resuming where the previous stopped (default 3). */
  attempts?: number;
  /** Delay before a retry in ms, multiplied by the attempt number (default 1000). */
  retryDelayMs?: number;
  /** Idle socket timeout in ms (default 60,000). */
  timeoutMs?: number;
  progress?: ProgressMode;
  onProgress?: (bytes: number, total: number | undefined) => void;
}

/** A transfer failed (network error, HTTP error, interrupted body) after all attempts. */
export class DownloadError extends Error {
  constructor(
    message: string,
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DownloadError';
  }
}

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    url: string,
  ) {
    super(`HTTP ${status} from ${url}`);
  }
}

interface Response {
  res: http.IncomingMessage;
  req: http.ClientRequest;
}

function get(url: string, headers: Record<string, string>, timeoutMs: number, redirects = 5): Promise<Response> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch (e) {
      reject(e);
      return;
    }
    const mod = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined;
    if (!mod) {
      reject(new Error(`unsupported URL protocol ${u.protocol} in ${url}`));
      return;
    }
    const req = mod.get(u, { headers: { 'user-agent': '@lm/data-cifar', ...headers } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects <= 0) {
          reject(new Error(`too many redirects from ${url}`));
          return;
        }
        get(new URL(res.headers.location, u).toString(), headers, timeoutMs, redirects - 1).then(resolve, reject);
        return;
      }
      resolve({ res, req });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no data for ${timeoutMs} ms from ${url}`)));
    req.on('error', reject);
  });
}

/** Hex digest of a file. */
export async function fileDigest(path: string, algorithm: 'md5' | 'sha256'): Promise<string> {
  const h = createHash(algorithm);
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), h);
  return h.digest('hex');
}

function sizeOf(p: string): number {
  return existsSync(p) ? statSync(p).size : 0;
}

/** One transfer attempt appending to `part`; resolves when the body was received completely. */
async function transfer(opts: DownloadOptions, part: string, report: ProgressReporter): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  let start = sizeOf(part);
  const { res, req } = await get(opts.url, start > 0 ? { range: `bytes=${start}-` } : {}, timeoutMs);
  const status = res.statusCode ?? 0;
  try {
    if (status === 416 && start > 0) {
      // Nothing more to send: the partial file is already complete (verification decides).
      res.resume();
      return;
    }
    if (status === 200) {
      if (start > 0) await truncate(part, 0); // server ignored the Range request: start over
      start = 0;
    } else if (status === 206) {
      const m = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''));
      if (!m || Number(m[1]) !== start) {
        // Unexpected range: start over from scratch on the next attempt.
        await truncate(part, 0);
        throw new Error(`server answered range ${res.headers['content-range'] ?? '(none)'} to a request from byte ${start}`);
      }
    } else {
      res.resume();
      throw new HttpStatusError(status, opts.url);
    }
    const len = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : undefined;
    const total = len !== undefined ? start + len : undefined;
    report.setTotal(total);
    let received = start;
    const file = createWriteStream(part, { flags: start > 0 ? 'a' : 'w' });
    try {
      await pipeline(
        res,
        async function* (src: AsyncIterable<Buffer>) {
          for await (const c of src) {
            received += c.length;
            report.update(received);
            opts.onProgress?.(received, total);
            yield c;
          }
        },
        file,
      );
    } catch (e) {
      // A dropped connection rejects while the last chunks may still be on their way to disk: the next
      // attempt resumes from the size of `part`, so wait until the file is closed.
      if (!file.closed) await once(file, 'close');
      throw e;
    }
    if (total !== undefined && received !== total) {
      throw new Error(`transfer ended after ${received} of ${total} bytes`);
    }
  } finally {
    req.destroy();
  }
}

/**
 * Downloads `url` to `dest` with resume and checksum verification. Returns `dest`.
 * Throws `CifarChecksumError` (file deleted) on a checksum mismatch and `DownloadError` on transfer failures
 * (the `.part` file is kept so that a later call resumes).
 */
export async function downloadVerified(opts: DownloadOptions): Promise<string> {
  const { dest, url } = opts;
  const algorithm: 'md5' | 'sha256' = opts.sha256 ? 'sha256' : 'md5';
  const expected = (opts.sha256 ?? opts.md5)?.toLowerCase();
  if (!expected) throw new Error(`downloadVerified(${url}): an md5 or sha256 checksum is required`);
  await mkdir(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const attempts = Math.max(1, opts.attempts ?? 3);
  const report = new ProgressReporter(`download ${url}`, undefined, opts.progress ?? 'auto');
  // A `.part` left by an earlier run may belong to another file; if the resumed result fails verification,
  // it is discarded and the transfer starts over once.
  let staleAllowed = sizeOf(part) > 0;
  for (;;) {
    let lastError: unknown;
    let ok = false;
    for (let a = 1; a <= attempts && !ok; a++) {
      try {
        await transfer(opts, part, report);
        ok = true;
      } catch (e) {
        lastError = e;
        if (e instanceof HttpStatusError && e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429) break;
        if (a < attempts) {
          const delay = (opts.retryDelayMs ?? 1000) * a;
          if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        }
      }
    }
    if (!ok) {
      report.done(`failed (${sizeOf(part)} bytes kept in ${part} for resume)`);
      throw new DownloadError(
        `download of ${url} to ${dest} failed after ${attempts} attempt(s): ${(lastError as Error)?.message ?? lastError}` +
          (sizeOf(part) > 0 ? ` (${sizeOf(part)} bytes kept in ${part}; the next attempt resumes)` : ''),
        url,
        { cause: lastError },
      );
    }
    const actual = await fileDigest(part, algorithm);
    if (actual === expected) break;
    await rm(part, { force: true });
    if (staleAllowed) {
      staleAllowed = false;
      report.done('checksum mismatch after resuming an earlier partial file; starting over');
      continue;
    }
    report.done('checksum mismatch, deleted');
    throw new CifarChecksumError(dest, algorithm, expected, actual, url);
  }
  await rename(part, dest);
  report.done(`verified ${algorithm} ${expected}`);
  return dest;
}
