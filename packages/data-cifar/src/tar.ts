/**
 * A minimal streaming tar reader (ustar, GNU long names, pax `path`) over node:zlib.
 * Members are delivered one at a time as complete Buffers; unwanted members are skipped without buffering.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { CifarFormatError } from './errors.js';

export interface TarMember {
  /** Path inside the archive (no leading `./`). */
  name: string;
  type: 'file' | 'directory' | 'other';
  size: number;
  /** Contents, only for wanted regular files. */
  data?: Buffer;
}

const BLOCK = 512;

function cstring(b: Buffer, start: number, len: number): string {
  let end = start;
  const stop = start + len;
  while (end < stop && b[end] !== 0) end++;
  return b.toString('utf8', start, end);
}

function parseNumber(b: Buffer, start: number, len: number): number {
  if (b[start] & 0x80) {
    // GNU base-256 encoding for large sizes.
    let v = 0;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + b[i];
    return v;
  }
  const s = cstring(b, start, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) return NaN;
  return parseInt(s, 8);
}

function headerChecksumOk(h: Buffer): boolean {
  const stored = parseNumber(h, 148, 8);
  if (!Number.isFinite(stored)) return false;
  let unsigned = 0;
  for (let i = 0; i < BLOCK; i++) unsigned += i >= 148 && i < 156 ? 32 : h[i];
  return unsigned === stored;
}

function isZeroBlock(h: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (h[i] !== 0) return false;
  return true;
}

function normaliseName(n: string): string {
  while (n.startsWith('./')) n = n.slice(2);
  return n;
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  while (off < data.length) {
    const sp = data.indexOf(0x20, off);
    if (sp < 0) break;
    const len = parseInt(data.toString('utf8', off, sp), 10);
    if (!(len > 0)) break;
    const rec = data.toString('utf8', sp + 1, off + len - 1); // strip trailing newline
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    off += len;
  }
  return out;
}

/**
 * Reads tar members from a stream of (already decompressed) bytes.
 * @param file name used in error messages
 * @param want which regular files to buffer and deliver with `data`
 */
/** The largest member read into memory (CIFAR's batch files are 30-150 MB; a long name or pax header is tiny). */
export const MAX_BUFFERED_MEMBER = 1 << 30;

export async function* readTarStream(
  source: AsyncIterable<Buffer | Uint8Array>,
  file: string,
  want: (name: string) => boolean = () => true,
): AsyncGenerator<TarMember> {
  const hdr = Buffer.alloc(BLOCK);
  let hdrFill = 0;
  let state: 'header' | 'data' | 'pad' | 'end' = 'header';
  let pos = 0; // bytes consumed from the tar stream
  let headers = 0;

  // Current member.
  let name = '';
  let type: TarMember['type'] | 'longname' | 'pax' | 'skip' = 'other';
  let size = 0;
  let remaining = 0;
  let pad = 0;
  let buf: Buffer | undefined;
  let filled = 0;
  let nextName: string | undefined;

  const finish = (): TarMember | undefined => {
    if (type === 'longname') {
      nextName = normaliseName(cstring(buf!, 0, buf!.length));
      return undefined;
    }
    if (type === 'pax') {
      const p = parsePax(buf!);
      if (p.path) nextName = normaliseName(p.path);
      return undefined;
    }
    if (type === 'skip') return undefined;
    const m: TarMember = { name, type, size };
    if (buf) m.data = buf;
    return m;
  };

  for await (const raw of source) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    let off = 0;
    while (off < chunk.length) {
      if (state === 'end') {
        off = chunk.length;
        break;
      }
      if (state === 'header') {
        const n = Math.min(BLOCK - hdrFill, chunk.length - off);
        chunk.copy(hdr, hdrFill, off, off + n);
        hdrFill += n;
        off += n;
        if (hdrFill < BLOCK) continue;
        hdrFill = 0;
        const at = pos;
        pos += BLOCK;
        if (isZeroBlock(hdr)) {
          if (headers === 0) throw new CifarFormatError(file, 'wrong archive: not a tar archive (starts with an empty block)');
          state = 'end';
          continue;
        }
        if (!headerChecksumOk(hdr)) {
          throw new CifarFormatError(
            file,
            headers === 0
              ? 'wrong archive: not a tar archive (no valid tar header at the start)'
              : `corrupt tar archive: bad header checksum at byte ${at}`,
          );
        }
        headers++;
        const magic = hdr.toString('latin1', 257, 262);
        let n0 = cstring(hdr, 0, 100);
        if (magic === 'ustar') {
          const prefix = cstring(hdr, 345, 155);
          if (prefix) n0 = `${prefix}/${n0}`;
        }
        name = nextName ?? normaliseName(n0);
        size = parseNumber(hdr, 124, 12);
        if (!Number.isFinite(size)) throw new CifarFormatError(file, `corrupt tar archive: bad size field at byte ${at}`);
        const flag = String.fromCharCode(hdr[156]);
        buf = undefined;
        filled = 0;
        if (flag === 'L') type = 'longname';
        else if (flag === 'x') type = 'pax';
        else if (flag === 'g') type = 'skip';
        else {
          nextName = undefined;
          type = flag === '0' || flag === '\0' || flag === '7' ? 'file' : flag === '5' ? 'directory' : 'other';
        }
        if (type === 'longname' || type === 'pax' || (type === 'file' && want(name))) {
          if (size > MAX_BUFFERED_MEMBER) {
            throw new CifarFormatError(
              file,
              `member ${name} claims ${size} bytes, more than the ${MAX_BUFFERED_MEMBER} a CIFAR batch file can have: the archive is damaged or not a CIFAR release`,
            );
          }
          buf = Buffer.allocUnsafe(size);
        }
        remaining = size;
        pad = (BLOCK - (size % BLOCK)) % BLOCK;
        if (remaining === 0) {
          const m = finish();
          if (m) yield m;
          state = 'header';
        } else state = 'data';
      } else if (state === 'data') {
        const n = Math.min(remaining, chunk.length - off);
        if (buf) chunk.copy(buf, filled, off, off + n);
        filled += n;
        off += n;
        pos += n;
        remaining -= n;
        if (remaining === 0) {
          state = pad > 0 ? 'pad' : 'header';
          const m = finish();
          if (m) yield m;
        }
      } else {
        const n = Math.min(pad, chunk.length - off);
        off += n;
        pos += n;
        pad -= n;
        if (pad === 0) state = 'header';
      }
    }
  }
  if (state === 'data') {
    throw new CifarFormatError(
      file,
      `truncated archive: ends inside member ${name} (${filled} of ${size} bytes present)`,
    );
  }
  if (state === 'header' && hdrFill > 0) {
    throw new CifarFormatError(file, `truncated archive: ends inside a tar header at byte ${pos}`);
  }
  if (headers === 0) throw new CifarFormatError(file, 'wrong archive: empty file or no tar members');
}

/** True if the file starts with the gzip magic bytes. */
export async function isGzipFile(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await fh.read(b, 0, 2, 0);
    return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** Streams the members of a `.tar` or `.tar.gz` file (gzip detected from the content, not the name). */
export async function* readTarFile(
  path: string,
  want: (name: string) => boolean = () => true,
  onBytes?: (compressedBytesRead: number) => void,
): AsyncGenerator<TarMember> {
  const gz = await isGzipFile(path);
  const rs = createReadStream(path, { highWaterMark: 1 << 20 });
  let read = 0;
  if (onBytes) {
    rs.on('data', (c) => {
      read += c.length;
      onBytes(read);
    });
  }
  let source: AsyncIterable<Buffer>;
  if (gz) {
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    rs.on('error', (e) => gunzip.destroy(e));
    rs.pipe(gunzip);
    source = gunzip;
  } else source = rs;
  try {
    yield* readTarStream(wrapErrors(source, path, gz), path, want);
  } finally {
    rs.destroy();
    if (gz) (source as unknown as { destroy(): void }).destroy();
  }
}

async function* wrapErrors(src: AsyncIterable<Buffer>, path: string, gz: boolean): AsyncGenerator<Buffer> {
  try {
    for await (const c of src) yield c;
  } catch (e) {
    if (e instanceof CifarFormatError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (gz && (code.startsWith('Z_') || /unexpected end|incorrect header|invalid/i.test(String((e as Error).message)))) {
      throw new CifarFormatError(path, `corrupt or truncated gzip stream (${(e as Error).message})`, { cause: e });
    }
    throw e;
  }
}
