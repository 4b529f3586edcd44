import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

/** Tests run on the reference `cpu` backend. */
export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

/**
 * Registers backend `name`: the cpu backend's kernels plus `kernel` (a kernel of a contract, standing in for a
 * native backend's), then switches to cpu; `removeBackend(name)` undoes it.
 */
export async function registerCpuWithKernel(name: string, kernelName: string, kernelFunc: tf.KernelFunc): Promise<void> {
  await useCpu();
  tf.registerBackend(name, () => new MathBackendCPU(), 0);
  for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: name });
  tf.registerKernel({ kernelName, backendName: name, kernelFunc });
}
