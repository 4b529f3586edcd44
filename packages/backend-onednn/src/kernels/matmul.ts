/** BatchMatMul and _FusedMatMul on oneDNN's matmul (transposes via strides, batch broadcast, bias + activation). */
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';

import { activationCode, alloc, type Backend, cpuKernel, f32, lastAxisVector, native, output, size } from '../util';

function matmulKernel(name: string, fused: boolean): KernelFunc {
  const fallback = cpuKernel(name);
  return (args) => {
    const backend = args.backend as Backend;
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as Record<string, any>;
    const as = f32(backend, a!), bs = f32(backend, b!);
    const act = activationCode(fused ? attrs.activation : 'linear');
    if (!as || !bs) return fallback(args, 'not float32');
    if (act < 0 || preluActivationWeights) return fallback(args, `activation ${attrs.activation}`);
    if (a!.shape.length < 2 || b!.shape.length < 2) return fallback(args, 'rank < 2');
    const ta = !!attrs.transposeA, tb = !!attrs.transposeB;
    const ra = a!.shape.length, rb = b!.shape.length;
    const M = ta ? a!.shape[ra - 1] : a!.shape[ra - 2];
    const K = ta ? a!.shape[ra - 2] : a!.shape[ra - 1];
    const K2 = tb ? b!.shape[rb - 1] : b!.shape[rb - 2];
    const N = tb ? b!.shape[rb - 2] : b!.shape[rb - 1];
    if (K !== K2) return fallback(args, 'inner dimensions differ'); // let the cpu kernel produce its error message
    const batchA = a!.shape.slice(0, -2), batchB = b!.shape.slice(0, -2);
    const ba = size(batchA), bb = size(batchB);
    // Native batch broadcast: equal batch shapes, or one side without batch (product 1).
    const same = batchA.length === batchB.length && batchA.every((d, i) => d === batchB[i]);
    if (!same && ba !== 1 && bb !== 1) return fallback(args, 'mixed batch broadcasting');
    const outBatch = backend_util.assertAndGetBroadcastShape(batchA, batchB);
    const biasValues = bias ? lastAxisVector(backend, bias, N) : null;
    if (biasValues === undefined) return fallback(args, 'bias not per output column');
    const outShape = [...outBatch, M, N];
    const c = alloc(size(outShape));
    native().matMul(as, bs, biasValues, c, [ba, bb, M, K, N, ta ? 1 : 0, tb ? 1 : 0], act, attrs.leakyreluAlpha ?? 0.2);
    return output(backend, outShape, c);
  };
}

export function matmulKernels(): Array<Omit<KernelConfig, 'backendName'>> {
  return [
    { kernelName: 'BatchMatMul', kernelFunc: matmulKernel('BatchMatMul', false) },
    { kernelName: '_FusedMatMul', kernelFunc: matmulKernel('_FusedMatMul', true) },
  ];
}
