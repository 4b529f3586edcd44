/** Loads the native addon (build/Release/lm_mpi.node) and explains precisely why when it cannot. */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The functions the addon exports (see native/addon.cc). */
export interface NativeMpi {
  init(): { rank: number; size: number; host: string };
  finalize(): void;
  info(): { library: string; standard: string; initialized: boolean; rank: number; size: number; host: string };
  setTimeout(seconds: number): void;
  barrier(): void;
  /** In place; op 0 sum, 1 max, 2 min. */
  allreduce(a: Float32Array | Float64Array | Int32Array, op: number): void;
  broadcast(a: Float32Array | Float64Array | Int32Array | Uint8Array, root: number): void;
  allgather(bytes: Uint8Array): Uint8Array[];
  abort(code: number): never;
}

/** Root of this package: both src/ (tests, source condition) and dist/ (built) sit one level below it. */
function packageRoot(): string {
  const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
  return resolve(here, '..');
}

export function defaultAddonPath(): string {
  return join(packageRoot(), 'build', 'Release', 'lm_mpi.node');
}

const FIX_BUILD =
  'Fix: install Open MPI and build the addon:\n' +
  '  sudo apt-get install -y libopenmpi-dev openmpi-bin\n' +
  '  npm run build:native -w @lm/mpi   (inside the monorepo; or `npx node-gyp rebuild` in the package directory)';

/** Turns a failed load into an error that names the missing piece and the commands that fix it. */
export function explainLoadError(path: string, cause: unknown): Error {
  const msg = cause instanceof Error ? cause.message : String(cause);
  let text: string;
  if (!existsSync(path)) {
    text = `@lm/mpi: the native addon is not built (missing file ${path}).\n${FIX_BUILD}`;
  } else if (/lib[\w+-]+\.so[.\d]*/.test(msg)) {
    const lib = /lib[\w+-]+\.so[.\d]*/.exec(msg)![0];
    text = `@lm/mpi: the addon ${path} needs the shared library ${lib}, which cannot be loaded (${msg}).\n${FIX_BUILD}`;
  } else {
    text = `@lm/mpi: the addon ${path} failed to load: ${msg}\nIt may have been built for another Node.js version. ${FIX_BUILD}`;
  }
  const err = new Error(text);
  (err as Error & { cause?: unknown }).cause = cause;
  return err;
}

/** Loads the addon from `path`; returns it or the explained error. Never throws. */
export function tryLoadAddon(path = process.env.LM_MPI_ADDON ?? defaultAddonPath()): { addon?: NativeMpi; error?: Error } {
  try {
    const req = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);
    return { addon: req(path) as NativeMpi };
  } catch (e) {
    return { error: explainLoadError(path, e) };
  }
}
