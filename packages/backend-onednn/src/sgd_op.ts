/**
 * The optimizer step as one kernel, shared with @lm/trainer's SGD (the kernel name and I/O are the contract):
 *   LmSgdStep inputs {w0..w(n-1), g0..g(n-1), b_i for parameters that have a momentum buffer}
 *             attrs  {count: n, lrs: number[n], weightDecays: number[n], momentum, dampening, nesterov, hasBuffer: boolean[n]}
 *             -> [w'0..w'(n-1), then b'0..b'(n-1) when momentum != 0]
 * with torch.optim.SGD's update (see native/optim.cc); lrs and weightDecays are each parameter's own (its group's). A weight or buffer that only its tensor holds (see
 * ownership.ts) is updated in place and its output aliases it; any other gets a fresh output.
 */
import { type KernelFunc, registerKernel, type TensorInfo } from '@tensorflow/tfjs-core';

import { counted } from './coverage';
import { inPlaceValues } from './ownership';
import { alloc, type Backend, f32, native } from './util';

export const SGD_STEP = 'LmSgdStep';

interface SgdAttrs {
  count: number;
  lrs: number[];
  weightDecays: number[];
  momentum: number;
  dampening: number;
  nesterov: boolean;
  hasBuffer: boolean[];
}

const sgdStep: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as Backend;
  const a = attrs as unknown as SgdAttrs;
  const ins = inputs as Record<string, TensorInfo>;
  const n = a.count;
  if (a.lrs?.length !== n || a.weightDecays?.length !== n) throw new Error(`${SGD_STEP}: lrs and weightDecays need one entry per parameter (${n})`);
  const withBuffers = a.momentum !== 0;
  const ws: Float32Array[] = [], gs: Float32Array[] = [], bs: (Float32Array | null)[] = [];
  const wOut: Float32Array[] = [], bOut: (Float32Array | null)[] = [];
  const outs: TensorInfo[] = [], bufOuts: TensorInfo[] = [];
  /** The output for tensor `t` (input `src`): `t` itself when it may be overwritten, else a fresh array. */
  const target = (t: TensorInfo | undefined, len: number): [Float32Array, TensorInfo | undefined] => {
    const own = t ? inPlaceValues(b, t) : undefined;
    if (own && t) {
      b.incRef(t.dataId);
      return [own, { dataId: t.dataId, shape: t.shape, dtype: 'float32' }];
    }
    return [alloc(len), undefined];
  };
  for (let i = 0; i < n; i++) {
    const w = ins[`w${i}`]!, g = ins[`g${i}`]!;
    const wv = f32(b, w), gv = f32(b, g);
    if (!wv || !gv || wv.length !== gv.length) throw new Error(`${SGD_STEP}: parameter ${i} needs float32 weight and gradient of one size`);
    ws.push(wv);
    gs.push(gv);
    const [wo, wInfo] = target(w, wv.length);
    wOut.push(wo);
    outs.push(wInfo ?? b.makeTensorInfo(w.shape, 'float32', wo));
    if (withBuffers) {
      const buf = a.hasBuffer[i] ? ins[`b${i}`] : undefined;
      const bv = buf ? f32(b, buf) : null;
      if (buf && (!bv || bv.length !== wv.length)) throw new Error(`${SGD_STEP}: momentum buffer ${i} does not match its weight`);
      bs.push(bv ?? null);
      const [bo, bInfo] = target(buf, wv.length);
      bOut.push(bo);
      bufOuts.push(bInfo ?? b.makeTensorInfo(w.shape, 'float32', bo));
    } else {
      bs.push(null);
      bOut.push(null);
    }
  }
  native().sgdStep(ws, gs, bs, wOut, bOut, a.lrs, a.weightDecays, [a.momentum, a.dampening, a.nesterov ? 1 : 0]);
  return [...outs, ...bufOuts];
};

/** Registers LmSgdStep for `onednn` (no cpu kernel: the trainer's op-by-op path is the reference there). */
export function registerSgdStep(): void {
  registerKernel({ kernelName: SGD_STEP, backendName: 'onednn', kernelFunc: counted(SGD_STEP, sgdStep) });
}
