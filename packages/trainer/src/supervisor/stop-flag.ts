/** The signals that ask a training run to stop, by their code in the shared cell (2 + index). */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** Cell values: no training is running (a signal keeps its default action), training, or stop asked by a signal. */
const IDLE = 0;
const TRAINING = 1;

/** What {@link StopFlag.request} did. */
export type StopRequestResult = 'requested' | 'already-requested' | 'idle';

/**
 * A stop request shared between threads: one Int32 in a SharedArrayBuffer, read with one `Atomics.load`.
 * The `lm` CLI's main thread owns the signals and calls {@link request}; the training thread {@link arm}s it
 * while its epochs run and polls {@link requested} between steps and, through the kernel guard, between
 * kernel dispatches inside a step.
 */
export class StopFlag {
  private readonly cell: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT)) {
    this.cell = new Int32Array(buffer, 0, 1);
  }

  /** Asks the running training to stop; 'idle' when none runs (before its epochs start, or after they end). */
  request(signal: StopSignal): StopRequestResult {
    const before = Atomics.compareExchange(this.cell, 0, TRAINING, 2 + STOP_SIGNALS.indexOf(signal));
    return before === TRAINING ? 'requested' : before === IDLE ? 'idle' : 'already-requested';
  }

  /** The training thread: its epochs start; from now on a signal asks them to stop. */
  arm(): void {
    Atomics.compareExchange(this.cell, 0, IDLE, TRAINING);
  }

  /** The training thread: its epochs are over (or failed); a later signal takes its default action again. */
  disarm(): void {
    Atomics.store(this.cell, 0, IDLE);
  }

  /** The signal that asked to stop, if one did. */
  requested(): StopSignal | undefined {
    const v = Atomics.load(this.cell, 0);
    return v >= 2 ? STOP_SIGNALS[v - 2] : undefined;
  }
}
