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
  ) {
    super(
      `Training diverged at epoch ${epoch} step ${step}: loss is ${Number.isNaN(loss) ? 'NaN' : loss > 0 ? 'Infinity' : '-Infinity'} ` +
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
