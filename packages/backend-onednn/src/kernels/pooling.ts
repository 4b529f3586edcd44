/**
 * Pooling (NHWC) on oneDNN: MaxPool, AvgPool and their gradients. AvgPoolGrad excludes padding from the divisor,
 * which is the true gradient of AvgPool (as TensorFlow); the cpu backend's AvgPoolGrad divides by the full window.
 */
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';

import { alloc, type Backend, cpuKernel, f32, native, output, size, trailingPad } from '../util';

/**
 * tfjs' pooling geometry of an NHWC input and the 14 shape parameters of native/pooling.cc, or undefined when the
 * cpu kernel should run: dilation, padding oneDNN cannot express (a window lying entirely in the padding), or an
 * identity pooling (1x1 window, stride 1).
 */
function poolParams(xShape: number[], a: Record<string, any>): { pi: backend_util.Conv2DInfo; p: number[] } | undefined {
  const pi = backend_util.computePool2DInfo(xShape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  if (pi.dilationHeight !== 1 || pi.dilationWidth !== 1) return undefined;
  const { padInfo } = pi;
  const kh = pi.filterHeight, kw = pi.filterWidth, pt = padInfo.top, pl = padInfo.left;
  const pb = trailingPad(pi.inHeight, pi.outHeight, pi.strideHeight, kh, pt, padInfo.bottom);
  const pr = trailingPad(pi.inWidth, pi.outWidth, pi.strideWidth, kw, pl, padInfo.right);
  if (!(pt < kh && pl < kw && pb < kh && pr < kw && pb >= 0 && pr >= 0)) return undefined;
  if (kh === 1 && kw === 1 && pi.strideHeight === 1 && pi.strideWidth === 1) return undefined;
  const p = [
    pi.batchSize, pi.inHeight, pi.inWidth, pi.inChannels, pi.outHeight, pi.outWidth,
    kh, kw, pi.strideHeight, pi.strideWidth, pt, pl, pb, pr,
  ];
  return { pi, p };
}

function poolForward(name: string, isMax: boolean): KernelFunc {
  const fallback = cpuKernel(name);
  return (args) => {
    const backend = args.backend as Backend;
    const x = (args.inputs as Record<string, TensorInfo>).x;
    const a = args.attrs as Record<string, any>;
    const xs = f32(backend, x);
    if (!xs) return fallback(args, 'not float32');
    if (x.shape.length !== 4) return fallback(args, 'not 4-D');
    const g = poolParams(x.shape, a);
    if (!g) return fallback(args, 'dilation, all-padding window or identity pooling');
    const y = alloc(size(g.pi.outShape));
    native().poolForward(xs, y, g.p, isMax);
    return output(backend, g.pi.outShape, y);
  };
}

function poolBackward(name: string, isMax: boolean): KernelFunc {
  const fallback = cpuKernel(name);
  return (args) => {
    const backend = args.backend as Backend;
    const { dy, input } = args.inputs as Record<string, TensorInfo>;
    const a = args.attrs as Record<string, any>;
    const dys = f32(backend, dy), xs = f32(backend, input);
    if (!dys || !xs) return fallback(args, 'not float32');
    if (input.shape.length !== 4) return fallback(args, 'not 4-D');
    const g = poolParams(input.shape, a);
    if (!g) return fallback(args, 'dilation, all-padding window or identity pooling');
    const dx = alloc(size(input.shape));
    native().poolBackward(dys, isMax ? xs : null, dx, g.p, isMax);
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
