/**
 * Blocked activations. oneDNN's convolutions and batch norms run fastest when the channels of a 4-D activation
 * are stored in blocks of 8 (AVX2) or 16 (AVX-512), nChw8c / nChw16c, rather than NHWC (on AVX2 and ResNet-20's
 * shapes, ~17% less convolution time and half the batch-norm time; `npm run layout-ab -w @lm/benchmarks` compares). A tensor stays NHWC to everyone:
 * its entry may hold the blocked copy next to, or instead of, the NHWC values, and reading `values` (any cpu
 * kernel, readSync, dataSync) makes the NHWC copy first. Kernels that know the layout (convolutions, batch norm,
 * same-shape element-wise ops) read and write the blocked copy directly, so a chain of them never converts.
 * Tensors are immutable, so the two copies never disagree; both go back to the buffer pool at dispose.
 * Only float32 [N, H, W, C] tensors with C a multiple of the block are blocked. LM_ONEDNN_BLOCKED=0 turns it off.
 */
import { type DataId, engine, type TensorInfo } from '@tensorflow/tfjs-core';

import { noteAttached, recycle } from './ownership';
import { alloc, type Backend, native, output } from './util';

interface Blocked {
  data: Float32Array;
  /** The [N, H, W, C] the blocked copy was made for (a reshape shares the entry under another shape). */
  shape: number[];
  /** The channel block it was made in (blocked activations may be turned off since). */
  block: number;
}
interface Entry {
  values?: unknown;
  dtype: string;
  lmBlocked?: Blocked;
  /** The NHWC copy once made (entries whose first copy is blocked). */
  lmPlain?: Float32Array;
}

let block: number | undefined;
/** setBlockedActivations(false) in effect. */
let turnedOff = false;
/** The channel block of blocked activations on this machine (8 or 16), or 0 when they are off. */
export function activationBlock(): number {
  if (block === undefined) {
    const env = process.env.LM_ONEDNN_BLOCKED;
    block = env === '0' || env === 'false' ? 0 : native().activationBlock();
  }
  return turnedOff ? 0 : block;
}

/**
 * Turns blocked activations off (false) or back to the default (true or undefined: on where the machine has a
 * block and LM_ONEDNN_BLOCKED is not 0), from the next kernel on, e.g. to compare the two layouts step by step.
 * Tensors made under either setting stay valid: every kernel reads a blocked copy or the NHWC values.
 */
export function setBlockedActivations(on: boolean | undefined): void {
  turnedOff = on === false;
}

/**
 * Whether a forward convolution runs blocked: only while a gradient tape records (a training forward), whose
 * activations the batch norms and the backward pass read again in the same layout. A forward-only pass reads
 * each activation once, and there oneDNN's channels-last kernels are as fast or faster (AVX-512: blocked
 * inference takes 11% longer on resnet20 and 13% on lm-resnext29-8x64d; with oneDNN held to AVX2, no faster).
 */
export function forwardBlocks(): boolean {
  return engine().state.gradientDepth > 0;
}

/** Whether a float32 tensor of `shape` may be blocked: 4-D with its channels a multiple of the block. */
export function blockable(shape: readonly number[]): boolean {
  const b = activationBlock();
  return b > 0 && shape.length === 4 && shape[3] % b === 0 && shape[3] > 0;
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

function entryOf(backend: Backend, id: DataId): Entry {
  return backend.data.get(id) as unknown as Entry;
}

/** The blocked copy of `t` if its entry has one for t's shape; never converts. */
export function blockedCopy(backend: Backend, t: TensorInfo): Float32Array | undefined {
  if (t.dtype !== 'float32') return undefined;
  const b = entryOf(backend, t.dataId).lmBlocked;
  return b && sameShape(b.shape, t.shape) ? b.data : undefined;
}

/** The blocked copy of a {@link blockable} float32 `t`, made from its NHWC values (and kept) when it has none. */
export function asBlocked(backend: Backend, t: TensorInfo): Float32Array {
  const have = blockedCopy(backend, t);
  if (have) return have;
  const e = entryOf(backend, t.dataId);
  const plain = e.values;
  if (!(plain instanceof Float32Array) || !blockable(t.shape)) throw new Error(`asBlocked: [${t.shape}] ${t.dtype} cannot be blocked`);
  const data = alloc(plain.length);
  native().reorderActivation(plain, data, [...t.shape], activationBlock(), true);
  noteAttached(data);
  // a reshape's entry may already hold a blocked copy for another shape: that one goes (it is made again if needed)
  if (e.lmBlocked) recycle(e.lmBlocked.data);
  e.lmBlocked = { data, shape: [...t.shape], block: activationBlock() };
  return data;
}

/** A float32 output of `shape` whose only copy is the blocked `data`; its NHWC values are made when first read. */
export function blockedOutput(backend: Backend, shape: number[], data: Float32Array): TensorInfo {
  const info = output(backend, shape, data);
  const e = entryOf(backend, info.dataId);
  e.lmBlocked = { data, shape: [...shape], block: activationBlock() };
  Object.defineProperty(e, 'values', {
    configurable: true,
    enumerable: true,
    get(this: Entry) {
      if (!this.lmPlain) {
        const b = this.lmBlocked!;
        const plain = alloc(b.data.length);
        native().reorderActivation(b.data, plain, b.shape, b.block, false);
        noteAttached(plain);
        this.lmPlain = plain;
      }
      return this.lmPlain;
    },
    // new values replace both copies
    set(this: Entry, v: unknown) {
      if (this.lmBlocked) recycle(this.lmBlocked.data);
      if (this.lmPlain) recycle(this.lmPlain);
      this.lmBlocked = this.lmPlain = undefined;
      Object.defineProperty(this, 'values', { configurable: true, enumerable: true, writable: true, value: v });
    },
  });
  return info;
}

/**
 * The buffers of a deleted entry: its NHWC values (if made) and its blocked copy, without making either. For an
 * entry created blocked, reading `values` would convert, so this reads the fields directly.
 */
export function entryBuffers(backend: Backend, id: DataId): unknown[] {
  if (!backend.data.has(id)) return [];
  const e = entryOf(backend, id);
  const out: unknown[] = [];
  const desc = Object.getOwnPropertyDescriptor(e, 'values');
  if (desc && 'value' in desc) out.push(desc.value);
  else if (e.lmPlain) out.push(e.lmPlain);
  if (e.lmBlocked) out.push(e.lmBlocked.data);
  return out;
}

/**
 * Whether an element-wise op over `ts` (float32 tensors of one shape, plus any single-value operands) runs on
 * their blocked copies: the shape is {@link blockable} and one operand already has a blocked copy. Element-wise
 * maths does not depend on where an element is stored, so the output is then blocked too, and a chain of
 * convolutions, batch norms and residual sums never goes through NHWC.
 */
export function runsBlocked(backend: Backend, ts: readonly TensorInfo[]): boolean {
  if (ts.some((t) => t.dtype !== 'float32')) return false;
  const full = ts.filter((t) => !single(t));
  const shape = full[0]?.shape;
  if (!shape || !blockable(shape) || !full.every((t) => sameShape(t.shape, shape))) return false;
  return full.some((t) => blockedCopy(backend, t) !== undefined);
}

/** The operands of an element-wise op that {@link runsBlocked}: blocked copies, single values as they are. */
export function blockedOperands(backend: Backend, ts: readonly TensorInfo[]): Float32Array[] {
  return ts.map((t) => (single(t) ? (backend.data.get(t.dataId).values as Float32Array) : asBlocked(backend, t)));
}

const single = (t: TensorInfo) => t.shape.every((d) => d === 1);
