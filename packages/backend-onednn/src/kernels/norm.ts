/** FusedBatchNorm (inference with given statistics) on oneDNN's batch normalization with global stats. */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

import { alloc, type Backend, cpuKernel, f32, native, output, size } from '../util';

/** Per-channel values of a statistics tensor of C elements (or 1, broadcast), else undefined. */
function perChannel(backend: Backend, t: TensorInfo | undefined, c: number, dflt: number): Float32Array | undefined {
  if (!t) return new Float32Array(c).fill(dflt);
  const v = f32(backend, t);
  if (!v) return undefined;
  if (v.length === c && t.shape.slice(0, -1).every((d) => d === 1)) return v;
  if (v.length === 1) return new Float32Array(c).fill(v[0]);
  return undefined;
}

function makeFusedBatchNorm(): KernelFunc {
  const fallback = cpuKernel('FusedBatchNorm');
  return (args) => {
    const backend = args.backend as Backend;
    const { x, mean, variance, scale, offset } = args.inputs as Record<string, TensorInfo | undefined>;
    const eps = (args.attrs as { varianceEpsilon?: number } | undefined)?.varianceEpsilon ?? 0.001;
    const xs = f32(backend, x!);
    if (!xs) return fallback(args, 'not float32');
    if (x!.shape.length !== 4) return fallback(args, 'not 4-D');
    const [n, h, w, c] = x!.shape;
    const m = perChannel(backend, mean, c, 0), v = perChannel(backend, variance, c, 1);
    const s = perChannel(backend, scale, c, 1), o = perChannel(backend, offset, c, 0);
    if (!m || !v || !s || !o || !mean || !variance) return fallback(args, 'statistics not per channel');
    const y = alloc(size(x!.shape));
    native().batchNormInference(xs, m, v, s, o, y, [n, h, w, c], eps);
    return output(backend, [...x!.shape], y);
  };
}

export function normKernels(): Array<Omit<KernelConfig, 'backendName'>> {
  return [{ kernelName: 'FusedBatchNorm', kernelFunc: makeFusedBatchNorm() }];
}
