import { MpiUnavailableError, typedError } from './errors';
import { type NativeMpi, tryLoadAddon } from './native';

export type ReduceOp = 'sum' | 'max' | 'min';
const OPS: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2 };

export type NumericArray = Float32Array | Float64Array | Int32Array;

/** MPI_COMM_WORLD. All calls are collective: every rank calls them in the same order. */
export interface Communicator {
  readonly rank: number;
  readonly size: number;
  /** Host name of this rank (MPI_Get_processor_name). */
  readonly host: string;
  /** In place: every rank's `values` become the element-wise reduction over ranks. */
  allreduce(values: NumericArray, op?: ReduceOp): void;
  /** In place: every rank's `values` become those of `root` (same length on every rank). */
  broadcast(values: NumericArray | Uint8Array, root?: number): void;
  /** Every rank's bytes (lengths may differ), in rank order. For small buffers (hashes, metadata). */
  allgather(bytes: Uint8Array): Uint8Array[];
  barrier(): void;
  /** MPI_Finalize; the communicator is unusable afterwards. */
  finalize(): void;
  /** MPI_Abort: ends every rank of the job at once. */
  abort(code?: number): never;
}

export interface InitOptions {
  /**
   * A collective that has not completed after this many seconds throws {@link MpiTimeoutError}
   * (default: `LM_MPI_TIMEOUT`, else none). Dead peers on the same host are detected without it.
   */
  timeoutSeconds?: number;
}

let loaded: { addon?: NativeMpi; error?: Error } | undefined;
const load = () => (loaded ??= tryLoadAddon());

/** Whether the native addon loads. */
export function isMpiAvailable(): boolean {
  return load().addon !== undefined;
}

/** Why the addon does not load (with the commands that fix it), or undefined. */
export function mpiLoadError(): Error | undefined {
  return load().error;
}

/** MPI library version and state. */
export function mpiInfo(): ReturnType<NativeMpi['info']> | { available: false; error: string } {
  const { addon, error } = load();
  return addon ? addon.info() : { available: false, error: error!.message };
}

function call<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    return typedError(e);
  }
}

/**
 * Initialises MPI once (MPI_Init_thread, errors returned instead of aborting) and returns MPI_COMM_WORLD.
 * Without a launcher this is a single-rank world. Throws {@link MpiUnavailableError} when the addon is missing.
 */
export function initMpi(options: InitOptions = {}): Communicator {
  const { addon, error } = load();
  if (!addon) throw new MpiUnavailableError(error!.message);
  const envTimeout = Number.parseFloat(process.env.LM_MPI_TIMEOUT ?? '');
  const timeout = options.timeoutSeconds ?? (Number.isFinite(envTimeout) ? envTimeout : 0);
  addon.setTimeout(timeout > 0 ? timeout : 0);
  const { rank, size, host } = call(() => addon.init());
  return {
    rank,
    size,
    host,
    allreduce: (values, op = 'sum') => call(() => addon.allreduce(values, OPS[op])),
    broadcast: (values, root = 0) => call(() => addon.broadcast(values, root)),
    allgather: (bytes) => call(() => addon.allgather(bytes)),
    barrier: () => call(() => addon.barrier()),
    finalize: () => addon.finalize(),
    abort: (code = 1) => addon.abort(code),
  };
}
