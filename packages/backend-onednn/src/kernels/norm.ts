/**
 * Batch normalisation with given statistics on oneDNN's batch normalization with global stats:
 *   FusedBatchNorm              (tfjs) inputs {x, mean, variance, scale?, offset?}, attrs {varianceEpsilon}
 *   LmBatchNormReluInference    inputs {x, mean, variance, scale, offset}, attrs {epsilon} -> max(BN(x), 0)
 * The second is the evaluation mode of @lm/core-blocks' BN+ReLU layer: one pass (fuse_norm_relu) instead of two.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, Tensor, TensorInfo } from '@tensorflow/tfjs-core';

import { alloc, type Backend, cpuKernel, f32, native, output, size } from '../util';

export const BATCH_NORM_RELU_INFERENCE = 'LmBatchNormReluInference';

/** Per-channel values of a statistics tensor of C elements (or 1, broadcast), else undefined. */
function perChannel(backend: Backend, t: TensorInfo | undefined, c: number, dflt: number): Float32Array | undefined {
  if (!t) return new Float32Array(c).fill(dflt);
  const v = f32(backend, t);
  if (!v) return undefined;
  if (v.length === c && t.shape.slice(0, -1).every((d) => d === 1)) return v;
  if (v.length === 1) return new Float32Array(c).fill(v[0]);
  return undefined;
}

function makeFusedBatchNorm(relu: boolean): KernelFunc {
  const cpu = cpuKernel('FusedBatchNorm');
  const fallback: typeof cpu = (args, reason) => {
    const attrs = args.attrs as { epsilon?: number } | undefined;
    const out = cpu(relu ? { ...args, attrs: { varianceEpsilon: attrs?.epsilon ?? 0.001 } } : args, reason) as TensorInfo;
    if (relu) {
      const v = f32(args.backend as Backend, out)!;
      for (let i = 0; i < v.length; i++) v[i] = Math.max(v[i]!, 0);
    }
    return out;
  };
  return (args) => {
    const backend = args.backend as Backend;
    const { x, mean, variance, scale, offset } = args.inputs as Record<string, TensorInfo | undefined>;
    const a = args.attrs as { varianceEpsilon?: number; epsilon?: number } | undefined;
    const eps = (relu ? a?.epsilon : a?.varianceEpsilon) ?? 0.001;
    const xs = f32(backend, x!);
    if (!xs) return fallback(args, 'not float32');
    if (x!.shape.length !== 4) return fallback(args, 'not 4-D');
    const [n, h, w, c] = x!.shape;
    const m = perChannel(backend, mean, c, 0), v = perChannel(backend, variance, c, 1);
    const s = perChannel(backend, scale, c, 1), o = perChannel(backend, offset, c, 0);
    if (!m || !v || !s || !o || !mean || !variance) return fallback(args, 'statistics not per channel');
    const y = alloc(size(x!.shape));
    native().batchNormInference(xs, m, v, s, o, y, [n, h, w, c], eps, relu);
    return output(backend, [...x!.shape], y);
  };
}

/**
 * Gradient of max(BN(x), 0) with fixed statistics (frozen batch norm), composed: with g = dy·[y > 0] and
 * inv = 1/sqrt(variance + ε), dx = g·scale·inv, dscale = Σ g·(x − mean)·inv, doffset = Σ g,
 * dmean = −Σ g·scale·inv, dvariance = −½·Σ g·scale·(x − mean)·inv³ (sums over every axis but the last).
 */
export function registerBatchNormReluInferenceGradient(): void {
  tf.registerGradient({
    kernelName: BATCH_NORM_RELU_INFERENCE,
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    outputsToSave: [true],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs) => {
      const [x, mean, variance, scale, y] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor];
      const eps = (attrs as { epsilon: number }).epsilon;
      const axes = [...Array(x.rank - 1).keys()];
      const g = () => tf.where(tf.greater(y, 0), dy as Tensor, tf.zerosLike(y));
      const inv = () => tf.rsqrt(tf.add(variance, eps));
      return {
        x: () => tf.tidy(() => tf.mul(g(), tf.mul(scale, inv()))),
        scale: () => tf.tidy(() => tf.reshape(tf.sum(tf.mul(g(), tf.mul(tf.sub(x, mean), inv())), axes), scale.shape)),
        offset: () => tf.tidy(() => tf.reshape(tf.sum(g(), axes), scale.shape)),
        mean: () => tf.tidy(() => tf.reshape(tf.neg(tf.mul(tf.sum(g(), axes), tf.mul(scale, inv()))), mean.shape)),
        variance: () =>
          tf.tidy(() => tf.reshape(tf.mul(tf.sum(tf.mul(g(), tf.sub(x, mean)), axes), tf.mul(scale, tf.mul(-0.5, tf.pow(inv(), 3)))), variance.shape)),
      };
    },
  });
}

export function normKernels(): Array<Omit<KernelConfig, 'backendName'>> {
  return [
    { kernelName: 'FusedBatchNorm', kernelFunc: makeFusedBatchNorm(false) },
    { kernelName: BATCH_NORM_RELU_INFERENCE, kernelFunc: makeFusedBatchNorm(true) },
  ];
}
