import { writeSync } from 'node:fs';
import { isatty } from 'node:tty';

/** What a standard stream of the main thread is: a terminal (and how wide), or not. */
export interface StreamInfo {
  isTTY: boolean;
  columns?: number;
}

export interface StdioInfo {
  stdout: StreamInfo;
  stderr: StreamInfo;
}

/** The main thread's stdout and stderr, as the worker must present them (its own are neither terminals nor synchronous). */
export function describeStdio(): StdioInfo {
  const info = (fd: 1 | 2, stream: () => NodeJS.WriteStream): StreamInfo => (isatty(fd) ? { isTTY: true, columns: stream().columns } : { isTTY: false });
  return { stdout: info(1, () => process.stdout), stderr: info(2, () => process.stderr) };
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of `bytes` to `fd`, waiting while a non-blocking pipe is full. */
function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length; ) {
    try {
      done += writeSync(fd, bytes, done);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/**
 * In a worker: makes `process.stdout` and `process.stderr` write straight to the process's file descriptors
 * 1 and 2, synchronously, and say what the main thread's streams are (`isTTY`, `columns`: the progress bar's
 * and the download meter's choice). A worker's own stdio forwards each chunk to the main thread and waits for
 * it to be taken before the next, which happens only when the worker's event loop turns: a training step
 * loop hardly turns it, so its lines would come late, and out of order with the main thread's. Node writes
 * the main thread's stdio synchronously (files, pipes and terminals on Linux); so does this. A closed stdout
 * (`lm train | head`) ends the run quietly, as the main thread's EPIPE handler does.
 */
export function useProcessStdio(info: StdioInfo): void {
  for (const [stream, fd, what] of [
    [process.stdout, 1, info.stdout],
    [process.stderr, 2, info.stderr],
  ] as const) {
    const write = (chunk: string | Uint8Array, encoding?: BufferEncoding | ((e?: Error | null) => void), done?: (e?: Error | null) => void): boolean => {
      const callback = typeof encoding === 'function' ? encoding : done;
      try {
        writeAll(fd, typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8') : chunk);
      } catch (e) {
        if (fd === 1 && (e as NodeJS.ErrnoException).code === 'EPIPE') process.exit(0);
        throw e;
      }
      callback?.(null);
      return true;
    };
    Object.assign(stream, { write, isTTY: what.isTTY, columns: what.columns });
  }
}
