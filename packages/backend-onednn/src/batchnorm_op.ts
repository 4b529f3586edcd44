/**
 * The training batch-norm op shared with @lm/core-blocks (kernel names are the contract):
 *   LmBatchNormTrain     inputs {x, scale, offset}, attrs {epsilon} -> [y, mean, variance]
 *   LmBatchNormReluTrain inputs {x, scale, offset}, attrs {epsilon} -> [max(y, 0), mean, variance, reluMask]
 *   LmBatchNormTrainGrad inputs {dy, x, scale, mean, variance, reluMask?}, attrs {epsilon} -> [dx, dscale, doffset]
 *     (with the ReLU variant's reluMask, dy is first masked where the ReLU was inactive: the ReLU's gradient)
 * reluMask is opaque, made by a backend's forward for the same backend's gradient: on onednn the primitive's
 * workspace (a bit per element, oneDNN's layout, so the backward primitive applies the mask itself), on cpu 1/0
 * per element.
 * x is NHWC 4-D or [N, C] (any rank >= 2 works); statistics are over every axis but the last; the variance is biased.
 * Both kernels are registered natively for `onednn` and as plain JS loops for `cpu`. The registered gradient
 * of LmBatchNormTrain propagates the gradient of y only: gradients reaching the mean/variance outputs are ignored.
 */
import {
  add,
  engine,
  getBackend,
  getKernel,
  type KernelFunc,
  moments,
  mul,
  registerGradient,
  registerKernel,
  rsqrt,
  sub,
  type Tensor,
  type TensorInfo,
  tidy,
} from '@tensorflow/tfjs-core';

import { counted } from './coverage';
import { sharedGradients } from './multi_grad';
import { activationBlock, asBlocked, blockable, blockedOutput } from './layout';
import { alloc, type Backend, f32, native, output, size } from './util';

export const BATCH_NORM_TRAIN = 'LmBatchNormTrain';
export const BATCH_NORM_RELU_TRAIN = 'LmBatchNormReluTrain';
export const BATCH_NORM_TRAIN_GRAD = 'LmBatchNormTrainGrad';

/**
 * x viewed as [M, 1, 1, C] (statistics over every axis but the last); NHWC 4-D and [N, C] are the documented cases.
 */
function checkShapes(x: TensorInfo, c: number, what: string): [number, number, number, number] {
  const s = x.shape;
  if (s.length < 2) throw new Error(`${what}: x must be NHWC 4-D or [N, C] (rank >= 2), got [${s}]`);
  if (s[s.length - 1] !== c) throw new Error(`${what}: scale/offset have ${c} channels but x has ${s[s.length - 1]}`);
  return [size(s) / c, 1, 1, c];
}

/**
 * The native kernels' data shape: [N, H, W, C, block] when x runs in the blocked layout (layout.ts: a float32
 * [N, H, W, C] with C a multiple of the block); in NHWC a 4-D x as it is (oneDNN's forward runs up to ~30% faster
 * than on [M, 1, 1, C]), other ranks as [M, 1, 1, C]. Forward and gradient decide alike from x's shape, so the
 * ReLU workspace is always read in the layout it was written in.
 */
function nativeShape(x: TensorInfo, c: number, what: string): number[] {
  const rows = checkShapes(x, c, what);
  if (x.dtype === 'float32' && blockable(x.shape)) return [...x.shape, activationBlock()];
  return x.shape.length === 4 ? [...x.shape] : rows;
}
const runsBlockedAs = (shape: readonly number[]) => shape.length === 5;

const workspaceFloats = new Map<string, number>();
/** Float32 elements that hold the native ReLU workspace of a training BN+ReLU of this shape (asked once per shape). */
function reluWorkspaceFloats(shape: readonly number[], eps: number): number {
  const k = `${shape}/${eps}`;
  let n = workspaceFloats.get(k);
  if (n === undefined) {
    n = Math.max(1, Math.ceil(native().batchNormReluWorkspaceBytes([...shape], eps) / 4));
    workspaceFloats.set(k, n);
  }
  return n;
}

function values(backend: Backend, t: TensorInfo, what: string): Float32Array {
  const v = f32(backend, t);
  if (!v) throw new Error(`${what}: expected float32 tensors`);
  return v;
}

/** Plain JS training forward: per-channel mean and biased variance over [M, C] rows, double accumulators. */
const trainCpu = (relu: boolean): KernelFunc => ({ inputs, backend, attrs }) => {
  const b = backend as Backend;
  const { x, scale, offset } = inputs as Record<string, TensorInfo>;
  const eps = (attrs as { epsilon: number }).epsilon;
  const C = size(scale.shape);
  const [n, h, w] = checkShapes(x, C, BATCH_NORM_TRAIN);
  const M = n * h * w;
  const xv = values(b, x, BATCH_NORM_TRAIN), sv = values(b, scale, BATCH_NORM_TRAIN), ov = values(b, offset, BATCH_NORM_TRAIN);
  const sum = new Float64Array(C), sq = new Float64Array(C);
  for (let r = 0; r < M; r++) for (let c = 0, i = r * C; c < C; c++, i++) sum[c] += xv[i];
  const mean = alloc(C), variance = alloc(C);
  for (let c = 0; c < C; c++) mean[c] = sum[c] / M;
  for (let r = 0; r < M; r++)
    for (let c = 0, i = r * C; c < C; c++, i++) {
      const d = xv[i] - sum[c] / M;
      sq[c] += d * d;
    }
  const a = new Float64Array(C), k = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    variance[c] = sq[c] / M;
    a[c] = sv[c] / Math.sqrt(sq[c] / M + eps);
    k[c] = ov[c] - (sum[c] / M) * a[c];
  }
  const y = alloc(xv.length);
  for (let r = 0; r < M; r++) for (let c = 0, i = r * C; c < C; c++, i++) y[i] = xv[i] * a[c] + k[c];
  const outs = [output(b, [...x.shape], y), output(b, [C], mean), output(b, [C], variance)];
  if (!relu) return outs;
  const mask = alloc(y.length);
  for (let i = 0; i < y.length; i++) {
    mask[i] = y[i]! > 0 ? 1 : 0;
    y[i] = Math.max(y[i]!, 0);
  }
  return [...outs, output(b, [...x.shape], mask)];
};

/** dy where the cpu ReLU mask is 1, 0 elsewhere; dy itself without a ReLU. */
function reluMasked(dy: Float32Array, mask: Float32Array | undefined): Float32Array {
  if (!mask) return dy;
  const out = new Float32Array(dy.length);
  for (let i = 0; i < dy.length; i++) out[i] = mask[i] ? dy[i]! : 0;
  return out;
}

/** Plain JS backward through the batch statistics: dx = scale·invstd/M·(M·dy − Σdy − x̂·Σ(dy·x̂)). */
const trainGradCpu: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as Backend;
  const { dy, x, scale, mean, variance, reluMask } = inputs as Record<string, TensorInfo> & { reluMask?: TensorInfo };
  const eps = (attrs as { epsilon: number }).epsilon;
  const C = size(scale.shape);
  const [n, h, w] = checkShapes(x, C, BATCH_NORM_TRAIN_GRAD);
  const M = n * h * w;
  const what = BATCH_NORM_TRAIN_GRAD;
  const dyv = reluMasked(values(b, dy, what), reluMask && values(b, reluMask, what)), xv = values(b, x, what), sv = values(b, scale, what);
  const mv = values(b, mean, what), vv = values(b, variance, what);
  const inv = new Float64Array(C);
  for (let c = 0; c < C; c++) inv[c] = 1 / Math.sqrt(vv[c] + eps);
  const sdy = new Float64Array(C), sdyx = new Float64Array(C);
  for (let r = 0; r < M; r++)
    for (let c = 0, i = r * C; c < C; c++, i++) {
      sdy[c] += dyv[i];
      sdyx[c] += dyv[i] * (xv[i] - mv[c]) * inv[c];
    }
  const dscale = alloc(C), doffset = alloc(C);
  for (let c = 0; c < C; c++) {
    dscale[c] = sdyx[c];
    doffset[c] = sdy[c];
  }
  const dx = alloc(xv.length);
  for (let r = 0; r < M; r++)
    for (let c = 0, i = r * C; c < C; c++, i++) {
      const xhat = (xv[i] - mv[c]) * inv[c];
      dx[i] = (sv[c] * inv[c] * (dyv[i] - sdy[c] / M - (xhat * sdyx[c]) / M));
    }
  return [output(b, [...x.shape], dx), output(b, [C], dscale), output(b, [C], doffset)];
};

const trainNative = (relu: boolean): KernelFunc => ({ inputs, backend, attrs }) => {
  const b = backend as Backend;
  const { x, scale, offset } = inputs as Record<string, TensorInfo>;
  const eps = (attrs as { epsilon: number }).epsilon;
  const C = size(scale.shape);
  const shape = nativeShape(x, C, BATCH_NORM_TRAIN);
  const blocked = runsBlockedAs(shape);
  const xv = blocked ? asBlocked(b, x) : values(b, x, BATCH_NORM_TRAIN);
  const y = alloc(xv.length), mean = alloc(C), variance = alloc(C);
  const ws = relu ? alloc(reluWorkspaceFloats(shape, eps)) : null;
  native().batchNormTrain(xv, values(b, scale, BATCH_NORM_TRAIN), values(b, offset, BATCH_NORM_TRAIN), y, mean, variance, shape, eps, ws);
  const outs = [blocked ? blockedOutput(b, [...x.shape], y) : output(b, [...x.shape], y), output(b, [C], mean), output(b, [C], variance)];
  return ws ? [...outs, output(b, [ws.length], ws)] : outs;
};

const trainGradNative: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as Backend;
  const { dy, x, scale, mean, variance, reluMask } = inputs as Record<string, TensorInfo> & { reluMask?: TensorInfo };
  const eps = (attrs as { epsilon: number }).epsilon;
  const C = size(scale.shape);
  const w = BATCH_NORM_TRAIN_GRAD;
  const shape = nativeShape(x, C, w);
  const blocked = runsBlockedAs(shape);
  if (dy.dtype !== 'float32' || dy.shape.join() !== x.shape.join()) throw new Error(`${w}: dy must be float32 of x's shape [${x.shape}], got ${dy.dtype} [${dy.shape}]`);
  const xv = blocked ? asBlocked(b, x) : values(b, x, w);
  const dyv = blocked ? asBlocked(b, dy) : values(b, dy, w);
  const dx = alloc(xv.length), dscale = alloc(C), doffset = alloc(C);
  native().batchNormTrainGrad(dyv, xv, values(b, scale, w), values(b, mean, w), values(b, variance, w), dx, dscale, doffset, shape, eps, reluMask ? values(b, reluMask, w) : null);
  return [blocked ? blockedOutput(b, [...x.shape], dx) : output(b, [...x.shape], dx), output(b, [C], dscale), output(b, [C], doffset)];
};

/** The gradient of a training kernel: LmBatchNormTrainGrad, given the ReLU mask when the kernel applied a ReLU. */
function registerTrainGradient(kernelName: string, relu: boolean): void {
  registerGradient({
    kernelName,
    inputsToSave: ['x', 'scale'],
    outputsToSave: relu ? [false, true, true, true] : [false, true, true],
    gradFunc: (dys: Tensor | Tensor[], saved: Tensor[], attrs) => {
      const dy = Array.isArray(dys) ? dys[0] : dys;
      const [x, scale, mean, variance, reluMask] = saved;
      const inputs = { dy, x, scale, mean, variance, ...(reluMask ? { reluMask } : {}) };
      return sharedGradients(['x', 'scale', 'offset'], () =>
        engine().runKernel(BATCH_NORM_TRAIN_GRAD, inputs as Record<string, Tensor>, { epsilon: (attrs as { epsilon: number }).epsilon }) as Tensor[]);
    },
  });
}

let registered = false;

/** Registers the cpu kernels, the onednn kernels (when the addon loaded) and the gradient. Idempotent. */
export function registerBatchNormTrain(withNative: boolean): void {
  if (registered) return;
  registered = true;
  if (!getKernel(BATCH_NORM_TRAIN, 'cpu')) registerKernel({ kernelName: BATCH_NORM_TRAIN, backendName: 'cpu', kernelFunc: trainCpu(false) });
  if (!getKernel(BATCH_NORM_RELU_TRAIN, 'cpu')) registerKernel({ kernelName: BATCH_NORM_RELU_TRAIN, backendName: 'cpu', kernelFunc: trainCpu(true) });
  if (!getKernel(BATCH_NORM_TRAIN_GRAD, 'cpu')) registerKernel({ kernelName: BATCH_NORM_TRAIN_GRAD, backendName: 'cpu', kernelFunc: trainGradCpu });
  if (withNative) {
    registerKernel({ kernelName: BATCH_NORM_TRAIN, backendName: 'onednn', kernelFunc: counted(BATCH_NORM_TRAIN, trainNative(false)) });
    registerKernel({ kernelName: BATCH_NORM_RELU_TRAIN, backendName: 'onednn', kernelFunc: counted(BATCH_NORM_RELU_TRAIN, trainNative(true)) });
    registerKernel({ kernelName: BATCH_NORM_TRAIN_GRAD, backendName: 'onednn', kernelFunc: counted(BATCH_NORM_TRAIN_GRAD, trainGradNative) });
  }
  registerTrainGradient(BATCH_NORM_TRAIN, false);
  // The ReLU variant also keeps its reluMask output (the ReLU's gradient).
  registerTrainGradient(BATCH_NORM_RELU_TRAIN, true);
}

/**
 * Training batch normalization with batch statistics over every axis but the last.
 * Runs the LmBatchNormTrain kernel when the active backend has it, else composes stock ops (same maths).
 */
export function batchNormTrain(x: Tensor, scale: Tensor, offset: Tensor, epsilon = 1e-3): { y: Tensor; mean: Tensor; variance: Tensor } {
  if (getKernel(BATCH_NORM_TRAIN, getBackend())) {
    const [y, mean, variance] = engine().runKernel(BATCH_NORM_TRAIN, { x, scale, offset }, { epsilon }) as Tensor[];
    return { y, mean, variance };
  }
  return tidy(() => {
    const axes = [...Array(x.rank - 1).keys()];
    const m = moments(x, axes);
    const y = add(mul(mul(sub(x, m.mean), rsqrt(add(m.variance, epsilon))), scale), offset);
    return { y, mean: m.mean, variance: m.variance };
  });
}
