/**
 * Pooling (NHWC) on oneDNN: MaxPool, AvgPool and their gradients. AvgPoolGrad excludes padding from the divisor,
 * which is the true gradient of AvgPool (as TensorFlow); the cpu backend's AvgPoolGrad divides by the full window.
 */
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';

import { alloc, type Backend, cpuKernel, f32, native, output, size } from '../util';

function poolParams(pi: backend_util.Conv2DInfo): number[] | undefined {
  if (pi.dilationHeight !== 1 || pi.dilationWidth !== 1) return undefined;
  const { padInfo } = pi;
  const fix = (inn: number, out: number, s: number, k: number, lo: number, hi: number) =>
    Math.floor((inn - k + lo + hi) / s) + 1 === out ? hi : (out - 1) * s + k - inn - lo;
  return [
    pi.batchSize, pi.inHeight, pi.inWidth, pi.inChannels, pi.outHeight, pi.outWidth,
    pi.filterHeight, pi.filterWidth, pi.strideHeight, pi.strideWidth,
    padInfo.top, padInfo.left,
    fix(pi.inHeight, pi.outHeight, pi.strideHeight, pi.filterHeight, padInfo.top, padInfo.bottom),
    fix(pi.inWidth, pi.outWidth, pi.strideWidth, pi.filterWidth, padInfo.left, padInfo.right),
  ];
}

/** Padding that oneDNN cannot express (a window lying entirely in the padding) falls back to cpu. */
function validPads(p: number[]): boolean {
  const [, , , , , , kh, kw, , , pt, pl, pb, pr] = p;
  return pt < kh && pl < kw && pb < kh && pr < kw && pb >= 0 && pr >= 0;
}

function poolForward(name: string, isMax: boolean): KernelFunc {
  const fallback = cpuKernel(name);
  return (args) => {
    const backend = args.backend as Backend;
    const x = (args.inputs as Record<string, TensorInfo>).x;
    const a = args.attrs as Record<string, any>;
    const xs = f32(backend, x);
    if (!xs || x.shape.length !== 4) return fallback(args);
    const pi = backend_util.computePool2DInfo(x.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
    const p = poolParams(pi);
    if (!p || !validPads(p)) return fallback(args);
    if (pi.filterHeight === 1 && pi.filterWidth === 1 && pi.strideHeight === 1 && pi.strideWidth === 1) return fallback(args); // identity
    const y = alloc(size(pi.outShape));
    native().poolForward(xs, y, p, isMax);
    return output(backend, pi.outShape, y);
  };
}

function poolBackward(name: string, isMax: boolean): KernelFunc {
  const fallback = cpuKernel(name);
  return (args) => {
    const backend = args.backend as Backend;
    const { dy, input } = args.inputs as Record<string, TensorInfo>;
    const a = args.attrs as Record<string, any>;
    const dys = f32(backend, dy), xs = f32(backend, input);
    if (!dys || !xs || input.shape.length !== 4) return fallback(args);
    const pi = backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
    const p = poolParams(pi);
    if (!p || !validPads(p)) return fallback(args);
    if (pi.filterHeight === 1 && pi.filterWidth === 1 && pi.strideHeight === 1 && pi.strideWidth === 1) return fallback(args);
    const dx = alloc(size(input.shape));
    native().poolBackward(dys, isMax ? xs : null, dx, p, isMax);
    return output(backend, [...input.shape], dx);
  };
}

export function poolingKernels(): Array<Omit<KernelConfig, 'backendName'>> {
  return [
    { kernelName: 'MaxPool', kernelFunc: poolForward('MaxPool', true) },
    { kernelName: 'AvgPool', kernelFunc: poolForward('AvgPool', false) },
    { kernelName: 'MaxPoolGrad', kernelFunc: poolBackward('MaxPoolGrad', true) },
    { kernelName: 'AvgPoolGrad', kernelFunc: poolBackward('AvgPoolGrad', false) },
  ];
}
