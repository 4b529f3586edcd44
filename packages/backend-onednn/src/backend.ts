/** The `onednn` backend: the cpu backend's storage and kernels, with the hot kernels overridden natively. */
import {
  type BackendValues,
  type DataId,
  type DataType,
  getKernel,
  getKernelsForBackend,
  type KernelConfig,
  registerBackend,
  registerKernel,
  unregisterKernel,
} from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import { entryBuffers } from './layout';
import { noteAttached, noteEscaped, recycle } from './ownership';

export const ONEDNN_BACKEND_NAME = 'onednn';
/** Below tfjs-node's `tensorflow` (3), above `cpu` (1). */
export const ONEDNN_PRIORITY = 2;

export class OnednnBackend extends MathBackendCPU {
  constructor() {
    super();
    // Suppress the cpu backend's "use @tensorflow/tfjs-node" banner.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  // Ownership bookkeeping for in-place kernels (ownership.ts): who holds a buffer, and which ones JS has seen.
  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    noteAttached(values);
    return super.write(values, shape, dtype);
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    noteAttached(values);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const buffers = entryBuffers(this, dataId);
    const deleted = super.disposeData(dataId, force);
    if (deleted && !this.data.has(dataId)) for (const b of buffers) recycle(b);
    return deleted;
  }

  override readSync(dataId: DataId): BackendValues {
    const v = super.readSync(dataId);
    noteEscaped(v);
    return v;
  }
}

/** Registers the backend, inherits every cpu kernel, then overrides with `kernels`. */
export function registerOnednnBackend(kernels: Array<Omit<KernelConfig, 'backendName'>>): void {
  registerBackend(ONEDNN_BACKEND_NAME, () => new OnednnBackend(), ONEDNN_PRIORITY);
  // Inherit every cpu kernel not registered yet and not overridden below (what copyRegisteredKernels does,
  // without duplicate warnings).
  const overridden = new Set(kernels.map((k) => k.kernelName));
  for (const k of getKernelsForBackend('cpu'))
    if (!overridden.has(k.kernelName) && !getKernel(k.kernelName, ONEDNN_BACKEND_NAME)) registerKernel({ ...k, backendName: ONEDNN_BACKEND_NAME });
  for (const k of kernels) {
    if (getKernel(k.kernelName, ONEDNN_BACKEND_NAME)) unregisterKernel(k.kernelName, ONEDNN_BACKEND_NAME);
    registerKernel({ ...k, backendName: ONEDNN_BACKEND_NAME });
  }
}

/** Names of the kernels this package implements natively (filled at registration). */
export const nativeKernelNames: string[] = [];
