/**
 * Loads the native addon (build/Release/onednn.node) and explains precisely why when it cannot.
 * OMP_NUM_THREADS must be set before libgomp loads, so it is fixed here, before the addon is required. The wait
 * policy stays libgomp's own (workers spin briefly after a parallel region, then sleep) unless the user sets
 * OMP_WAIT_POLICY or GOMP_SPINCOUNT: a training step dispatches hundreds of kernels with a few microseconds of
 * JavaScript between them, and workers that sleep at once pay a futex wake-up in every one of them.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The functions the addon exports (see native/*.cc). */
export interface NativeAddon {
  info(): { version: string; threads: number; loopThreads: number; isa: string; cpuRuntime: string };
  /** OpenMP threads, and optionally the threads of the element-wise/reduction/copy/batch-norm loops. */
  setThreads(n: number, loopThreads?: number): void;
  conv2dForward(x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, p: number[], act: number, alpha: number): void;
  conv2dBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, p: number[]): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, p: number[]): void;
  matMul(a: Float32Array, b: Float32Array, bias: Float32Array | null, c: Float32Array, p: number[], act: number, alpha: number): void;
  batchNormTrain(x: Float32Array, scale: Float32Array, offset: Float32Array, y: Float32Array, mean: Float32Array, variance: Float32Array, shape: number[], eps: number, reluWorkspace?: Float32Array | null): void;
  batchNormReluWorkspaceBytes(shape: number[], eps: number): number;
  batchNormTrainGrad(dy: Float32Array, x: Float32Array, scale: Float32Array, mean: Float32Array, variance: Float32Array, dx: Float32Array, dscale: Float32Array, doffset: Float32Array, shape: number[], eps: number, reluWorkspace?: Float32Array | null): void;
  batchNormInference(x: Float32Array, mean: Float32Array, variance: Float32Array, scale: Float32Array, offset: Float32Array, y: Float32Array, shape: number[], eps: number, relu?: boolean): void;
  poolForward(x: Float32Array, y: Float32Array, p: number[], isMax: boolean): void;
  poolBackward(dy: Float32Array, x: Float32Array | null, dx: Float32Array, p: number[], isMax: boolean): void;
  binary(op: number, a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], out: Float32Array, outShape: number[]): void;
  unary(op: number, x: Float32Array, y: Float32Array, alpha: number): void;
  reluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array): void;
  reduce(op: number, x: Float32Array, shape: number[], axes: number[], out: Float32Array): void;
  slice(x: Float32Array | Int32Array, shape: number[], begin: number[], size: number[], out: Float32Array | Int32Array): void;
  place(x: Float32Array | Int32Array, shape: number[], out: Float32Array | Int32Array, outShape: number[], at: number[]): void;
  pad(x: Float32Array | Int32Array, shape: number[], before: number[], out: Float32Array | Int32Array, outShape: number[], valueBits: number): void;
  /** The LM update y = b + k·(o − b) + dt·f (k: 1 value or one per channel of the last axis). */
  lmStep(f: Float32Array, b: Float32Array, o: Float32Array, k: Float32Array, y: Float32Array, channels: number, dt: number): void;
  /** Its gradient: df = dt·dy (skipped when df is null), db = dy − dy·k, do = dy·k, dk = Σ dy·(o − b). */
  lmStepGrad(dy: Float32Array, b: Float32Array, o: Float32Array, k: Float32Array, df: Float32Array | null, db: Float32Array, dO: Float32Array, dk: Float32Array, channels: number, dt: number, accB: Float32Array | null, accO: Float32Array | null): void;
  /** One SGD update over every parameter; outputs may be the inputs themselves. hyper = [lr, momentum, dampening, weightDecay, nesterov]. */
  /** Returns the whole pages inside `b` to the OS now (their contents are lost); the bytes released. */
  releasePages(b: ArrayBuffer): number;
  /** The channel block (8 or 16) of the activation layout oneDNN's convolutions prefer here; 0: none (stay nhwc). */
  activationBlock(): number;
  /** dst = src converted between nhwc and nChw<block>c ([N, H, W, C], C a multiple of block). */
  reorderActivation(src: Float32Array, dst: Float32Array, shape: number[], block: number, toBlocked: boolean): void;
  sgdStep(ws: Float32Array[], gs: Float32Array[], bs: (Float32Array | null)[], wOut: Float32Array[], bOut: (Float32Array | null)[], lrs: number[], weightDecays: number[], hyper: number[]): void;
}

/** Root of this package: both src/ (tests, source condition) and dist/ (built) sit one level below it. */
export function packageRoot(): string {
  const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
  return resolve(here, '..');
}

/** Default location of the compiled addon. */
export function defaultAddonPath(): string {
  return join(packageRoot(), 'build', 'Release', 'onednn.node');
}

const FIX_BUILD =
  'Fix: install oneDNN and build the addon:\n' +
  '  sudo apt-get install -y libdnnl-dev\n' +
  '  npm run build:native -w @lm/backend-onednn   (inside the monorepo; or `npx node-gyp rebuild` in the package directory)';

/** Turns a failed load into an error that names the missing piece and the exact commands that fix it. */
export function explainLoadError(path: string, cause: unknown): Error {
  const msg = cause instanceof Error ? cause.message : String(cause);
  let text: string;
  if (!existsSync(path)) {
    text = `@lm/backend-onednn: the native addon is not built (missing file ${path}).\n${FIX_BUILD}`;
  } else if (/libdnnl\.so[.\d]*/.test(msg)) {
    const lib = /libdnnl\.so[.\d]*/.exec(msg)![0];
    text =
      `@lm/backend-onednn: the addon ${path} is built but the oneDNN shared library ${lib} cannot be loaded (${msg}).\n` +
      'Fix: sudo apt-get install -y libdnnl2   (runtime only) or libdnnl-dev, then `npm run build:native -w @lm/backend-onednn` if it still fails.';
  } else if (/lib[\w+-]+\.so[.\d]*/.test(msg)) {
    const lib = /lib[\w+-]+\.so[.\d]*/.exec(msg)![0];
    text = `@lm/backend-onednn: the addon ${path} needs the shared library ${lib}, which cannot be loaded (${msg}).\n${FIX_BUILD}`;
  } else {
    text = `@lm/backend-onednn: the addon ${path} failed to load: ${msg}\nIt may have been built for another Node.js version. ${FIX_BUILD}`;
  }
  const err = new Error(text);
  (err as Error & { cause?: unknown }).cause = cause;
  return err;
}

/** Number of threads oneDNN and the element-wise loops use: OMP_NUM_THREADS, else the number of cores. */
export function configuredThreads(): number {
  const n = Number.parseInt(process.env.OMP_NUM_THREADS ?? '', 10);
  return Number.isFinite(n) && n > 0 ? n : availableParallelism();
}

/** Loads the addon from `path`; returns it or the explained error. Never throws. */
export function tryLoadAddon(path = process.env.LM_ONEDNN_ADDON ?? defaultAddonPath()): { addon?: NativeAddon; error?: Error } {
  if (!process.env.OMP_NUM_THREADS) process.env.OMP_NUM_THREADS = String(configuredThreads());
  try {
    const req = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);
    const addon = req(path) as NativeAddon;
    const loop = Number.parseInt(process.env.LM_ONEDNN_LOOP_THREADS ?? '', 10);
    addon.setThreads(configuredThreads(), Number.isFinite(loop) && loop > 0 ? loop : undefined);
    return { addon };
  } catch (e) {
    return { error: explainLoadError(path, e) };
  }
}
