/**
 * Which tensor buffers a kernel may overwrite in place. A buffer qualifies only when this package allocated it
 * (never a caller's array), exactly one tensor entry holds it whole (no second entry, no subarray view such as
 * the cpu Slice's), and it never escaped to JavaScript through a read (`dataSync()` returns the stored array).
 */
import type { DataId, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

const owned = new WeakSet<ArrayBuffer>();
const attached = new WeakSet<ArrayBuffer>();
const escaped = new WeakSet<ArrayBuffer>();

type Values = unknown;

function bufferOf(v: Values): ArrayBuffer | undefined {
  return ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer ? v.buffer : undefined;
}

/** Records an array allocated by this package (see util.alloc). */
export function markOwned(v: Float32Array): void {
  owned.add(v.buffer as ArrayBuffer);
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

/** The Float32Array of `t` when a kernel may overwrite it in place (see above), else undefined. */
export function inPlaceValues(backend: MathBackendCPU, t: TensorInfo | DataId): Float32Array | undefined {
  const id = 'dataId' in (t as TensorInfo) ? (t as TensorInfo).dataId : (t as DataId);
  const d = backend.data.get(id);
  const v = d?.values;
  if (!(v instanceof Float32Array) || d.refCount !== 1) return undefined;
  const b = v.buffer as ArrayBuffer;
  return owned.has(b) && !escaped.has(b) && v.byteOffset === 0 && v.byteLength === b.byteLength ? v : undefined;
}
