/** A bad option or config value; the message names the option and the allowed values. */
export class OptionError extends Error {
  override name = 'OptionError';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(message);
  }
}

/** The loss became NaN or infinite; training stopped and the last good checkpoint was left untouched. */
export class DivergenceError extends Error {
  override name = 'DivergenceError';
  constructor(
    readonly epoch: number,
    readonly step: number,
    readonly loss: number,
    readonly lastCheckpoint: string | undefined,
    /** What diverged, when not the loss (e.g. `3 weight(s) are not finite (...)`). */
    what?: string,
  ) {
    super(
      `Training diverged at epoch ${epoch} step ${step}: ${what ?? `loss is ${Number.isNaN(loss) ? 'NaN' : loss > 0 ? 'Infinity' : '-Infinity'}`} ` +
        `(last good checkpoint: ${lastCheckpoint ?? 'none written yet'})`,
    );
  }
}

/** `--name must be one of: a, b, c (got 'x')`. */
export function oneOf<T extends string>(option: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new OptionError(option, `${option} must be one of: ${allowed.join(', ')} (got '${String(value)}')`);
}

/** The run was stopped by a signal (SIGINT/SIGTERM) after writing a checkpoint; `lm train --resume` continues it. */
export class InterruptedError extends Error {
  override name = 'InterruptedError';
  constructor(
    readonly signal: string,
    readonly checkpoint: string,
    readonly runDir: string,
  ) {
    super(`Interrupted by ${signal}: checkpoint written to ${checkpoint}; continue with: lm train --resume ${runDir}`);
  }
}

/** A checkpoint file that cannot be used; the message names the file and the problem. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

/** Weights (or momentum buffers) hold NaN or infinity: such a checkpoint is never written. */
export class NonFiniteWeightsError extends Error {
  override name = 'NonFiniteWeightsError';
  constructor(readonly weights: string[]) {
    super(`${weights.length} weight(s) are not finite (${weights.slice(0, 3).join(', ')}${weights.length > 3 ? ', …' : ''})`);
  }
}

/** What an OS error code means, in words. */
const OS_ERRORS: Record<string, string> = {
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder, not a file',
  EEXIST: 'it already exists',
  EMFILE: 'too many open files',
  EIO: 'an input/output error of the device',
};

const ADVICE: Record<string, string> = {
  EROFS: 'choose a folder on a writable file system',
  ENOSPC: 'free some space or choose another folder; the last verified checkpoint is intact',
  EDQUOT: 'free some space or choose another folder; the last verified checkpoint is intact',
  EACCES: 'choose a folder you may write to, or fix its permissions',
  EPERM: 'choose a folder you may write to, or fix its permissions',
};

/** A file-system failure, reported as what it is (EROFS, ENOSPC, EACCES, ...) with the path and what to do. */
export class FileError extends Error {
  override name = 'FileError';
  constructor(
    readonly path: string,
    readonly action: string,
    readonly code: string | undefined,
    detail?: string,
  ) {
    const what = code ? `${OS_ERRORS[code] ?? detail ?? code} (${code})` : (detail ?? 'failed');
    super(`cannot ${action} '${path}': ${what}${code && ADVICE[code] ? `; ${ADVICE[code]}` : ''}`);
  }
}

/** Runs `fn`; an OS error from it becomes a {@link FileError} naming `path` and the action. */
export function withFileErrors<T>(path: string, action: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw asFileError(e, path, action);
  }
}

export function asFileError(e: unknown, path: string, action: string): unknown {
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && /^E[A-Z]+$/.test(err.code) && !(e instanceof FileError)) {
    return new FileError(err.path ?? path, action, err.code, err.message);
  }
  return e;
}

/** The data a run asked for cannot be used (not found, empty, unreadable); the message names the folder or file. */
export class DataError extends Error {
  override name = 'DataError';
}
