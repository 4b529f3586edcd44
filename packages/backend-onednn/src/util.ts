/** Small helpers shared by the kernels: typed views of tensor data, uninitialized outputs, cpu fallbacks. */
import { getKernel, type KernelFunc, type TensorInfo, util } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import { noteFallback } from './coverage';
import { takeBuffer } from './ownership';
import type { NativeAddon } from './native';

export type Backend = MathBackendCPU;

let addonRef: NativeAddon | undefined;
export function setAddon(a: NativeAddon): void {
  addonRef = a;
}
/** The loaded addon; kernels are only registered once it is loaded. */
export function native(): NativeAddon {
  if (!addonRef) throw new Error('@lm/backend-onednn: native addon not loaded');
  return addonRef;
}

/** The Float32Array behind a float32 tensor, or undefined when it is not one (the caller then falls back). */
export function f32(backend: Backend, t: TensorInfo): Float32Array | undefined {
  if (t.dtype !== 'float32') return undefined;
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array ? v : undefined;
}

/** An uninitialized JS-owned Float32Array of n elements (byteOffset 0): a recycled buffer or a fresh one. */
export function alloc(n: number): Float32Array {
  if (n === 0) return new Float32Array(0);
  return new Float32Array(takeBuffer(n * 4));
}

export function output(backend: Backend, shape: number[], values: Float32Array): TensorInfo {
  return backend.makeTensorInfo(shape, 'float32', values);
}

export function size(shape: readonly number[]): number {
  return util.sizeFromShape(shape as number[]);
}

/** The values of float32 tensor `t` when it holds `n` elements along its last axis (leading dims 1), else undefined. */
export function lastAxisVector(backend: Backend, t: TensorInfo, n: number): Float32Array | undefined {
  const v = f32(backend, t);
  return v && size(t.shape) === n && t.shape.slice(0, -1).every((d) => d === 1) ? v : undefined;
}

/**
 * The bottom/right padding oneDNN needs for `out` windows of effective size `effK` and stride `s` over `inn` with
 * leading padding `lo`: tfjs' `hi` when consistent, else the padding that yields exactly `out` windows.
 */
export function trailingPad(inn: number, out: number, s: number, effK: number, lo: number, hi: number): number {
  return Math.floor((inn - effK + lo + hi) / s) + 1 === out ? hi : (out - 1) * s + effK - inn - lo;
}

/** Runs the inherited cpu kernel for a case the native one does not cover, recording why (see coverage.ts). */
export type Fallback = (args: Parameters<KernelFunc>[0], reason: string) => ReturnType<KernelFunc>;

/** The cpu backend's kernelFunc for `name`, captured at registration time, as a {@link Fallback}. */
export function cpuKernel(name: string): Fallback {
  const k = getKernel(name, 'cpu');
  if (!k) throw new Error(`@lm/backend-onednn: cpu kernel ${name} is not registered`);
  const f = k.kernelFunc;
  return (args, reason) => {
    noteFallback(reason);
    return f(args);
  };
}

/** Activation codes shared with native/engine.cc (appendActivation). */
export function activationCode(act: string | undefined): number {
  switch (act ?? 'linear') {
    case 'linear': return 0;
    case 'relu': return 1;
    case 'relu6': return 2;
    case 'elu': return 3;
    case 'leakyrelu': return 4;
    case 'sigmoid': return 5;
    default: return -1;
  }
}
