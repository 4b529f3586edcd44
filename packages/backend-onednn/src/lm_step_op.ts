/**
 * The LM two-step update as one kernel, shared with @lm/schemes' LinearMultiStep layer (kernel names are the contract):
 *   LmLinearMultiStep     inputs {f, u, prev, k}, attrs {dt, parametrisation} -> y
 *   LmLinearMultiStepGrad inputs {dy, u, prev, k, duAcc?, dprevAcc?}, attrs {dt, parametrisation} -> [df, du, dprev, dk]
 * parametrisation 'k':           y = (1 − k) u + k prev + dt·f,  computed as u + k·(prev − u) + dt·f
 * parametrisation 'one-minus-k': y = prev + k·(u − prev) + dt·f  (the stored weight is k' = 1 − k_n)
 * f, u, prev have one shape; k holds one value or one per channel (the last axis). The gradient is
 * df = dt·dy, d(base) = dy − dy·k, d(other) = dy·k, dk = Σ dy·(other − base) (per channel, or over everything),
 * with (base, other) = (u, prev) for 'k' and (prev, u) for 'one-minus-k'. duAcc and dprevAcc, when given, are
 * added in: du = duAcc + du, dprev = dprevAcc + dprev (the gradients a tape already holds for u and prev, offered
 * to tapes through multi_grad.ts' ACCUMULATE_INTO, which saves the tape's Add). Each element-wise operation rounds
 * to float32 in the order of the composed ops, so y, df, du and dprev equal the op-by-op results bit for bit.
 * Both kernels are registered natively for `onednn` and as plain JS loops for `cpu`; with dt = 1, df is dy itself
 * (shared, not copied).
 */
import { engine, getKernel, type KernelFunc, registerGradient, registerKernel, type Tensor, type TensorInfo } from '@tensorflow/tfjs-core';

import { counted } from './coverage';
import { sharedGradients } from './multi_grad';
import { blockedOperands, blockedOutput, runsBlocked } from './layout';
import { alloc, type Backend, f32, native, output, size } from './util';

export const LM_STEP = 'LmLinearMultiStep';
export const LM_STEP_GRAD = 'LmLinearMultiStepGrad';

interface StepAttrs {
  dt: number;
  parametrisation: 'k' | 'one-minus-k';
}

interface Operands {
  /** f or dy */
  first: Float32Array;
  base: Float32Array;
  other: Float32Array;
  k: Float32Array;
  channels: number;
  dt: number;
  shape: number[];
  /** The gradients to add into d(base) and d(other), when given (the gradient kernel only). */
  accBase: Float32Array | null;
  accOther: Float32Array | null;
  /** The arrays are blocked copies (layout.ts); outputs of the operands' shape are then blocked too. */
  blocked: boolean;
}

/** Checks the operands and orders u/prev (and their gradients to add in) as (base, other) for the parametrisation. */
function operands(what: string, backend: Backend, first: TensorInfo, u: TensorInfo, prev: TensorInfo, k: TensorInfo, attrs: StepAttrs, mayBlock = false, duAcc?: TensorInfo, dprevAcc?: TensorInfo): Operands {
  const same = (a: TensorInfo, b: TensorInfo) => a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
  if (!same(first, u) || !same(u, prev)) throw new Error(`${what}: f (or dy), u and prev must have one shape; got [${first.shape}], [${u.shape}], [${prev.shape}]`);
  for (const [name, acc] of [['duAcc', duAcc], ['dprevAcc', dprevAcc]] as const) {
    if (acc && !same(acc, u)) throw new Error(`${what}: ${name} must have u's shape [${u.shape}]; got [${acc.shape}]`);
  }
  const channels = u.shape.length ? u.shape[u.shape.length - 1]! : 1;
  const kn = size(k.shape);
  if (kn !== 1 && kn !== channels) throw new Error(`${what}: k must hold 1 value or one per channel (${channels}); got shape [${k.shape}]`);
  if (attrs.parametrisation !== 'k' && attrs.parametrisation !== 'one-minus-k') throw new Error(`${what}: parametrisation must be 'k' or 'one-minus-k', got '${attrs.parametrisation}'`);
  const full = [first, u, prev, ...(duAcc ? [duAcc] : []), ...(dprevAcc ? [dprevAcc] : [])];
  // a single k is the same for every element wherever it is stored: the native kernels may run blocked (layout.ts)
  const blocked = mayBlock && kn === 1 && runsBlocked(backend, full);
  const vals = blocked ? blockedOperands(backend, full) : full.map((t) => f32(backend, t));
  const kv = f32(backend, k);
  if (vals.some((v) => !v) || !kv) throw new Error(`${what}: expected float32 tensors`);
  const [fv, uv, pv] = vals as Float32Array[];
  const duv = duAcc ? vals[3]! : null, dpv = dprevAcc ? vals[duAcc ? 4 : 3]! : null;
  const swap = attrs.parametrisation === 'one-minus-k';
  return { first: fv!, base: swap ? pv! : uv!, other: swap ? uv! : pv!, k: kv, channels, dt: attrs.dt, shape: [...u.shape], blocked,
    accBase: swap ? dpv : duv, accOther: swap ? duv : dpv };
}

/** [du, dprev] from (d(base), d(other)) for the parametrisation. */
const inputOrder = (attrs: StepAttrs, dBase: TensorInfo, dOther: TensorInfo) => (attrs.parametrisation === 'one-minus-k' ? [dOther, dBase] : [dBase, dOther]);

/** df: dy itself when dt = 1 (shared like Identity), else the array the kernel filled. */
function dfOutput(backend: Backend, dy: TensorInfo, df: Float32Array | null, shape: number[], blocked = false): TensorInfo {
  if (df) return (blocked ? blockedOutput : output)(backend, shape, df);
  backend.incRef(dy.dataId);
  return { dataId: dy.dataId, shape, dtype: 'float32' };
}

const forwardCpu: KernelFunc = ({ inputs, backend, attrs }) => {
  const { f, u, prev, k } = inputs as Record<string, TensorInfo>;
  const o = operands(LM_STEP, backend as Backend, f!, u!, prev!, k!, attrs as unknown as StepAttrs);
  const y = alloc(o.first.length), C = o.channels, scalar = o.k.length === 1, dt = Math.fround(o.dt);
  for (let i = 0; i < y.length; i++) {
    const kv = o.k[scalar ? 0 : i % C]!;
    const mixed = Math.fround(o.base[i]! + Math.fround(kv * Math.fround(o.other[i]! - o.base[i]!)));
    y[i] = mixed + (dt === 1 ? o.first[i]! : Math.fround(o.first[i]! * dt));
  }
  return output(backend as Backend, o.shape, y);
};

const backwardCpu: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as Backend;
  const a = attrs as unknown as StepAttrs;
  const { dy, u, prev, k, duAcc, dprevAcc } = inputs as Record<string, TensorInfo>;
  const o = operands(LM_STEP_GRAD, b, dy!, u!, prev!, k!, a, false, duAcc, dprevAcc);
  const n = o.first.length, C = o.channels, scalar = o.k.length === 1, dt = Math.fround(o.dt);
  const accB = o.accBase, accO = o.accOther;
  const dBase = alloc(n), dOther = alloc(n), df = dt === 1 ? null : alloc(n);
  const acc = new Float64Array(scalar ? 1 : C);
  for (let i = 0; i < n; i++) {
    const c = scalar ? 0 : i % C;
    const d = o.first[i]!;
    const dm = Math.fround(d * o.k[c]!);
    dBase[i] = accB ? accB[i]! + Math.fround(d - dm) : d - dm;
    dOther[i] = accO ? accO[i]! + dm : dm;
    if (df) df[i] = d * dt;
    acc[c] += Math.fround(d * Math.fround(o.other[i]! - o.base[i]!));
  }
  const dk = alloc(o.k.length);
  dk.set(acc);
  const [du, dprev] = inputOrder(a, output(b, o.shape, dBase), output(b, o.shape, dOther));
  return [dfOutput(b, dy!, df, o.shape), du!, dprev!, output(b, [...k!.shape], dk)];
};

const forwardNative: KernelFunc = ({ inputs, backend, attrs }) => {
  const { f, u, prev, k } = inputs as Record<string, TensorInfo>;
  const o = operands(LM_STEP, backend as Backend, f!, u!, prev!, k!, attrs as unknown as StepAttrs, true);
  const y = alloc(o.first.length);
  native().lmStep(o.first, o.base, o.other, o.k, y, o.channels, o.dt);
  return (o.blocked ? blockedOutput : output)(backend as Backend, o.shape, y);
};

const backwardNative: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as Backend;
  const a = attrs as unknown as StepAttrs;
  const { dy, u, prev, k, duAcc, dprevAcc } = inputs as Record<string, TensorInfo>;
  const o = operands(LM_STEP_GRAD, b, dy!, u!, prev!, k!, a, true, duAcc, dprevAcc);
  const n = o.first.length;
  const dBase = alloc(n), dOther = alloc(n), df = Math.fround(o.dt) === 1 ? null : alloc(n), dk = alloc(o.k.length);
  native().lmStepGrad(o.first, o.base, o.other, o.k, df, dBase, dOther, dk, o.channels, o.dt, o.accBase, o.accOther);
  const out = o.blocked ? blockedOutput : output;
  const [du, dprev] = inputOrder(a, out(b, o.shape, dBase), out(b, o.shape, dOther));
  return [dfOutput(b, dy!, df, o.shape, o.blocked), du!, dprev!, output(b, [...k!.shape], dk)];
};

let registered = false;

/** Registers the cpu kernels, the onednn kernels (when the addon loaded) and the gradient. Idempotent. */
export function registerLmStep(withNative: boolean): void {
  if (registered) return;
  registered = true;
  if (!getKernel(LM_STEP, 'cpu')) registerKernel({ kernelName: LM_STEP, backendName: 'cpu', kernelFunc: forwardCpu });
  if (!getKernel(LM_STEP_GRAD, 'cpu')) registerKernel({ kernelName: LM_STEP_GRAD, backendName: 'cpu', kernelFunc: backwardCpu });
  if (withNative) {
    registerKernel({ kernelName: LM_STEP, backendName: 'onednn', kernelFunc: counted(LM_STEP, forwardNative) });
    registerKernel({ kernelName: LM_STEP_GRAD, backendName: 'onednn', kernelFunc: counted(LM_STEP_GRAD, backwardNative) });
  }
  registerGradient({
    kernelName: LM_STEP,
    inputsToSave: ['u', 'prev', 'k'],
    gradFunc: (dy, saved, attrs) => {
      const [u, prev, k] = saved;
      return sharedGradients(['f', 'u', 'prev', 'k'], (held) =>
        engine().runKernel(LM_STEP_GRAD, { dy: dy as Tensor, u: u!, prev: prev!, k: k!, ...(held.u ? { duAcc: held.u } : {}), ...(held.prev ? { dprevAcc: held.prev } : {}) }, attrs) as Tensor[], ['u', 'prev']);
    },
  });
}
