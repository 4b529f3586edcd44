/**
 * Which tensor buffers a kernel may overwrite in place. A buffer qualifies only when this package allocated it
 * (never a caller's array), exactly one tensor entry holds it whole (no second entry, no subarray view such as
 * the cpu Slice's), and it never escaped to JavaScript through a read (`dataSync()` returns the stored array).
 */
import type { DataId, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { totalmem } from 'node:os';

const owned = new WeakSet<ArrayBuffer>();
const attached = new WeakSet<ArrayBuffer>();
const escaped = new WeakSet<ArrayBuffer>();

type Values = unknown;

function bufferOf(v: Values): ArrayBuffer | undefined {
  return ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer ? v.buffer : undefined;
}

/** Called when a tensor entry is created over `values`: a second holder or a partial view makes it shared. */
export function noteAttached(values: Values): void {
  const b = bufferOf(values);
  if (!b || !owned.has(b)) return;
  const view = values as ArrayBufferView;
  if (attached.has(b) || view.byteOffset !== 0 || view.byteLength !== b.byteLength) escaped.add(b);
  else attached.add(b);
}

/** Called when the stored array is handed to JavaScript (readSync/read). */
export function noteEscaped(values: Values): void {
  const b = bufferOf(values);
  if (b) escaped.add(b);
}

/**
 * Output-buffer reuse: a disposed tensor's buffer that this package allocated, that only that tensor held and
 * that never reached JavaScript goes back to a pool keyed by byte length, and the next allocation of that size
 * takes it (kernel outputs are written whole, so reuse needs no clearing). This saves the page faults and the
 * zero-filling of fresh memory (paid inside the kernel that first writes the buffer), and memory comes back at
 * dispose time rather than at the next GC. A training step asks for the same sizes every step, so after the first
 * steps every output comes from the pool and the pool holds the step's peak working set, no more.
 * LM_ONEDNN_POOL_MB caps the pool (default: a quarter of the machine's memory, at most 4096; 0 turns reuse off).
 * Over the cap, the buffers of the sizes asked for least recently go first (e.g. an evaluation batch's sizes
 * once training resumes). Live plus pooled bytes never exceed the most ever live, plus a margin that only
 * re-allocations of discarded sizes earn (see takeBuffer, recycle and marginBytes).
 */
const poolCap = (() => {
  const fallback = Math.min(4096 * 2 ** 20, Math.floor(totalmem() / 4));
  const env = process.env.LM_ONEDNN_POOL_MB;
  if (env === undefined || env === '') return fallback;
  const v = Number(env);
  return Number.isFinite(v) && v >= 0 ? v * 2 ** 20 : fallback;
})();
/** Free buffers by byte length, in order of last use of the size (least recent first: Map insertion order). */
const pool = new Map<number, ArrayBuffer[]>();
let pooledBytes = 0;
/** Returns a discarded buffer's pages to the OS (the addon's releasePages); unset: the GC frees them later. */
let releasePages: ((b: ArrayBuffer) => number) | undefined;
export function setPageRelease(f: (b: ArrayBuffer) => number): void {
  releasePages = f;
}
/** A buffer that leaves this package for good (not pooled): its memory goes back now rather than at the next GC. */
function discard(b: ArrayBuffer): void {
  stats.releasedBytes += releasePages?.(b) ?? 0;
}

/** Discards pooled buffers, of the least recently asked-for sizes other than `keep` first, until `bytes` are gone. */
function evict(bytes: number, keep: number): void {
  const target = pooledBytes - bytes;
  for (const [size, list] of pool) {
    if (pooledBytes <= target) break;
    if (size === keep) continue;
    while (list.length && pooledBytes > target) {
      discard(list.pop()!);
      pooledBytes -= size;
      discardedUnasked.set(size, (discardedUnasked.get(size) ?? 0) + 1);
    }
    if (!list.length) pool.delete(size);
  }
}

/**
 * The peak rule alone makes a step whose sizes do not match at its peak churn: a forward pass that runs out of one
 * size discards pooled buffers of another, which the backward pass then allocates fresh, every step (55 MB of page
 * faults per PreAct-ResNet-20 step). So each fresh allocation of a size the pool discarded, and that has not been
 * asked for since, earns the pool that many bytes of margin above the peak: the margin is exactly the churn seen,
 * and a step that does not churn earns none. It never passes a quarter of the peak, nor LM_ONEDNN_POOL_MARGIN_MB
 * (default 64): past that the memory matters more than the faults (LM-ResNeXt-29 churns 450 MB a step; a margin
 * that large would lift its peak above PyTorch's).
 */
const MARGIN_SHARE = 1 / 4;
const marginCap = (() => {
  const env = process.env.LM_ONEDNN_POOL_MARGIN_MB;
  const v = env === undefined || env === '' ? 64 : Number(env);
  return Number.isFinite(v) && v >= 0 ? Math.floor(v * 2 ** 20) : 64 * 2 ** 20;
})();
/** Buffers discarded per size that no fresh allocation of that size has asked for since. */
const discardedUnasked = new Map<number, number>();
let earnedMargin = 0;
function marginBytes(): number {
  return Math.min(earnedMargin, Math.floor(liveHighWater * MARGIN_SHARE), marginCap);
}
/** A fresh allocation of `bytes`: when it replaces a buffer the pool discarded, the pool earns its size as margin. */
function noteMiss(bytes: number): void {
  const n = discardedUnasked.get(bytes);
  if (!n) return;
  if (n === 1) discardedUnasked.delete(bytes);
  else discardedUnasked.set(bytes, n - 1);
  earnedMargin += bytes;
}

/** Discards pooled buffers (see evict) until `bytes` more fit under the cap; whether they do. */
function makeRoom(bytes: number, keep: number): boolean {
  evict(pooledBytes + bytes - poolCap, keep);
  return pooledBytes + bytes <= poolCap;
}

/**
 * Bytes of this package's buffers held by tensors now, and the most they ever were. The pool keeps no more than
 * the difference plus the earned margin: live plus pooled never exceeds the program's own peak by more than the
 * margin, so holding buffers for reuse does not raise the peak resident memory beyond it (a training step's
 * backward pass frees every activation while the gradients are alive; pooling all of them would hold both at
 * once). Freeing moves bytes from live to pooled, so only a fresh allocation can pass the allowance, and
 * takeBuffer then discards pooled buffers.
 */
const live = new WeakSet<ArrayBuffer>();
let liveBytes = 0;
let liveHighWater = 0;

/** Called with the values of a tensor entry the backend just deleted. */
export function recycle(values: Values): void {
  const b = bufferOf(values);
  if (!b || !owned.has(b)) return;
  if (live.delete(b)) liveBytes -= b.byteLength;
  if (escaped.has(b)) return;
  attached.delete(b);
  if (pooledBytes + b.byteLength > poolCap && !makeRoom(b.byteLength, b.byteLength)) {
    discard(b);
    return;
  }
  const list = pool.get(b.byteLength);
  if (list) list.push(b);
  else pool.set(b.byteLength, [b]);
  pooledBytes += b.byteLength;
}

/** Output allocations since the last {@link resetBufferPoolStats}: served from the pool, or fresh (and their bytes). */
export interface BufferPoolStats {
  reused: number;
  fresh: number;
  freshBytes: number;
  /** Bytes of discarded buffers whose pages went back to the OS at once. */
  releasedBytes: number;
  /** Bytes the pool holds now. */
  pooledBytes: number;
  /** Bytes of this package's buffers held by tensors now, and the most they ever were. */
  liveBytes: number;
  liveHighWaterBytes: number;
  /** The margin the pool earned by churn (see noteMiss): live + pooled stays under liveHighWaterBytes + marginBytes. */
  marginBytes: number;
}
const stats = { reused: 0, fresh: 0, freshBytes: 0, releasedBytes: 0 };

/** An uninitialized buffer of `bytes` bytes owned by this package: a pooled one, or a fresh one. */
export function takeBuffer(bytes: number): ArrayBuffer {
  let b = reuse(bytes);
  if (!b) {
    const fresh = Buffer.allocUnsafeSlow(bytes);
    if (fresh.byteOffset !== 0 || fresh.buffer.byteLength !== bytes) throw new Error('@lm/backend-onednn: Buffer.allocUnsafeSlow returned a shared buffer');
    b = fresh.buffer as ArrayBuffer;
    owned.add(b);
  }
  live.add(b);
  liveBytes += bytes;
  if (liveBytes > liveHighWater) liveHighWater = liveBytes;
  // a fresh buffer can push live + pooled over the allowance: pooled buffers of other sizes go (least recently asked for first)
  const allowance = liveHighWater + marginBytes();
  if (liveBytes + pooledBytes > allowance) evict(liveBytes + pooledBytes - allowance, bytes);
  return b;
}

/** A pooled buffer of exactly `bytes` bytes, or undefined. */
function reuse(bytes: number): ArrayBuffer | undefined {
  const list = pool.get(bytes);
  const b = list?.pop();
  if (b) {
    pooledBytes -= bytes;
    stats.reused++;
    // this size is now the most recently used one
    pool.delete(bytes);
    pool.set(bytes, list!);
  } else {
    stats.fresh++;
    stats.freshBytes += bytes;
    noteMiss(bytes);
  }
  return b;
}

export function bufferPoolStats(): BufferPoolStats {
  return { ...stats, pooledBytes, liveBytes, liveHighWaterBytes: liveHighWater, marginBytes: marginBytes() };
}

export function resetBufferPoolStats(): void {
  stats.reused = stats.fresh = stats.freshBytes = stats.releasedBytes = 0;
}

/** The Float32Array of `t` when a kernel may overwrite it in place (see above), else undefined. */
export function inPlaceValues(backend: MathBackendCPU, t: TensorInfo | DataId): Float32Array | undefined {
  const id = 'dataId' in (t as TensorInfo) ? (t as TensorInfo).dataId : (t as DataId);
  const d = backend.data.get(id) as { values?: unknown; refCount: number; lmBlocked?: unknown } | undefined;
  // an entry with a blocked copy (layout.ts) would keep the old values there
  if (!d || d.lmBlocked !== undefined) return undefined;
  const v = d.values;
  if (!(v instanceof Float32Array) || d.refCount !== 1) return undefined;
  const b = v.buffer as ArrayBuffer;
  return owned.has(b) && !escaped.has(b) && v.byteOffset === 0 && v.byteLength === b.byteLength ? v : undefined;
}
