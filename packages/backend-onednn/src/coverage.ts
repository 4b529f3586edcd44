/**
 * Native-coverage accounting: for each kernel this package overrides, how many calls ran natively and how many
 * fell back to the inherited cpu kernel, by reason. Every native kernel is registered through {@link counted};
 * a fallback announces itself (with its reason) through {@link noteFallback} before running the cpu kernel.
 */
import type { KernelFunc } from '@tensorflow/tfjs-core';

export interface KernelCoverage {
  /** Calls that ran the native implementation. */
  native: number;
  /** Calls answered by the cpu kernel with a zero-copy view of the input (nothing to compute: by design). */
  views: number;
  /** Calls that ran the cpu kernel instead, by reason. */
  fallbacks: Record<string, number>;
}

/** The reason a kernel gives when the cpu kernel answers with a zero-copy view (counted as `views`). */
export const ZERO_COPY_VIEW = 'zero-copy view';

const counts = new Map<string, KernelCoverage>();
/** The fallback reason of the kernel call in progress (kernels do not nest, but the slot is saved anyway). */
let pending: string | undefined;

export function noteFallback(reason: string): void {
  pending = reason;
}

function entry(name: string): KernelCoverage {
  let e = counts.get(name);
  if (!e) counts.set(name, (e = { native: 0, views: 0, fallbacks: {} }));
  return e;
}

/** `kernelFunc` with its calls counted under `name` (native, or a fallback with the reason it noted). */
export function counted(name: string, kernelFunc: KernelFunc): KernelFunc {
  return (args) => {
    const outer = pending;
    pending = undefined;
    try {
      const out = kernelFunc(args);
      const e = entry(name);
      if (pending === undefined) e.native++;
      else if (pending === ZERO_COPY_VIEW) e.views++;
      else e.fallbacks[pending] = (e.fallbacks[pending] ?? 0) + 1;
      return out;
    } finally {
      pending = outer;
    }
  };
}

/** A copy of the counters since the last {@link resetNativeCoverage} (kernels never called are absent). */
export function nativeCoverage(): Record<string, KernelCoverage> {
  const out: Record<string, KernelCoverage> = {};
  for (const [k, v] of counts) out[k] = { native: v.native, views: v.views, fallbacks: { ...v.fallbacks } };
  return out;
}

export function resetNativeCoverage(): void {
  counts.clear();
}

/** Kernels of `cov` with at least one fallback, as `Name: n× reason; …` lines (empty when everything ran natively). */
export function describeFallbacks(cov: Record<string, KernelCoverage>): string[] {
  return Object.entries(cov)
    .filter(([, v]) => Object.keys(v.fallbacks).length > 0)
    .map(([k, v]) => `${k}: ${v.native} native, ${Object.entries(v.fallbacks).map(([r, n]) => `${n}x ${r}`).join('; ')}`);
}
