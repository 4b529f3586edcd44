/**
 * @lm/backend-onednn: a TensorFlow.js backend named `onednn` whose hot kernels run natively on oneDNN.
 * Importing registers the backend when the native addon loads; importing never throws.
 */
import '@tensorflow/tfjs-backend-cpu';
import type { KernelConfig } from '@tensorflow/tfjs-core';

import { nativeKernelNames, ONEDNN_BACKEND_NAME, registerOnednnBackend } from './backend';
import { BATCH_NORM_RELU_TRAIN, BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, registerBatchNormTrain } from './batchnorm_op';
import { convKernels } from './kernels/conv';
import { copyKernels } from './kernels/copy';
import { elementwiseKernels } from './kernels/elementwise';
import { matmulKernels } from './kernels/matmul';
import { normKernels, registerBatchNormReluInferenceGradient } from './kernels/norm';
import { poolingKernels } from './kernels/pooling';
import { reductionKernels } from './kernels/reduction';
import { configuredThreads, type NativeAddon, tryLoadAddon } from './native';
import { setAddon } from './util';
import { setPageRelease } from './ownership';
import { counted } from './coverage';
import { registerReluGrad, RELU_GRAD } from './relu_grad';
import { registerSgdStep, SGD_STEP } from './sgd_op';
import { LM_STEP, LM_STEP_GRAD, registerLmStep } from './lm_step_op';
import { MOVING_STATS_UPDATE, registerMovingStatsUpdate } from './moving_stats_op';
import { GROUPED_CONV2D, GROUPED_CONV2D_BACKPROP_FILTER, GROUPED_CONV2D_BACKPROP_INPUT, registerGroupedConv2D } from './grouped_conv_op';

export { ONEDNN_BACKEND_NAME, ONEDNN_PRIORITY, OnednnBackend } from './backend';
export { batchNormTrain, BATCH_NORM_TRAIN, BATCH_NORM_RELU_TRAIN, BATCH_NORM_TRAIN_GRAD } from './batchnorm_op';
export { BATCH_NORM_RELU_INFERENCE } from './kernels/norm';
export { SGD_STEP } from './sgd_op';
export { ACCUMULATE_INTO, type GradientRecord, type HeldGradients } from './multi_grad';
export { LM_STEP, LM_STEP_GRAD } from './lm_step_op';
export { MOVING_STATS_UPDATE } from './moving_stats_op';
export { GROUPED_CONV2D, GROUPED_CONV2D_BACKPROP_INPUT, GROUPED_CONV2D_BACKPROP_FILTER } from './grouped_conv_op';
export { explainLoadError, tryLoadAddon } from './native';
export { nativeCoverage, resetNativeCoverage, describeFallbacks } from './coverage';
export type { KernelCoverage } from './coverage';
export { bufferPoolStats, resetBufferPoolStats } from './ownership';
export { activationBlock, setBlockedActivations } from './layout';
export type { BufferPoolStats } from './ownership';

const loaded = tryLoadAddon();
const addon: NativeAddon | undefined = loaded.addon;
const loadError: Error | undefined = loaded.error;
// Say why once, at import (LM_ONEDNN_QUIET=1 silences it); importing never throws.
if (loadError && !process.env.LM_ONEDNN_QUIET) console.warn(`${loadError.message}\nThe 'onednn' backend is not registered; TensorFlow.js will use another backend.`);

// The training batch-norm op works on every backend that has its kernel: cpu (pure JS) always, onednn natively.
registerBatchNormTrain(addon !== undefined);
registerLmStep(addon !== undefined);
registerMovingStatsUpdate(addon !== undefined);

if (addon) {
  setAddon(addon);
  setPageRelease((b) => addon.releasePages(b));
  const kernels: Array<Omit<KernelConfig, 'backendName'>> = [
    ...convKernels(),
    ...matmulKernels(),
    ...normKernels(),
    ...poolingKernels(),
    ...elementwiseKernels(),
    ...reductionKernels(),
    ...copyKernels(),
  ];
  registerOnednnBackend(kernels.map((k) => ({ ...k, kernelFunc: counted(k.kernelName, k.kernelFunc) })));
  registerSgdStep();
  registerReluGrad();
  registerGroupedConv2D();
  registerBatchNormReluInferenceGradient();
  nativeKernelNames.push(...kernels.map((k) => k.kernelName), BATCH_NORM_TRAIN, BATCH_NORM_RELU_TRAIN, BATCH_NORM_TRAIN_GRAD, SGD_STEP, RELU_GRAD, LM_STEP, LM_STEP_GRAD);
  nativeKernelNames.push(MOVING_STATS_UPDATE);
  nativeKernelNames.push(GROUPED_CONV2D, GROUPED_CONV2D_BACKPROP_INPUT, GROUPED_CONV2D_BACKPROP_FILTER);
}

/** True when the native addon loaded and the `onednn` backend is registered. */
export function isOnednnAvailable(): boolean {
  return addon !== undefined;
}

/** Why the addon could not be loaded (names the missing file or library and the fix), or undefined. */
export function onednnLoadError(): Error | undefined {
  return loadError;
}

export interface OnednnInfo {
  available: boolean;
  /** oneDNN version, e.g. "2.6.3". */
  version?: string;
  /** Threads used by oneDNN (OMP_NUM_THREADS, default: the number of cores). */
  threads: number;
  /** Threads of the native element-wise/reduction/copy/batch-norm loops (LM_ONEDNN_LOOP_THREADS, default: threads). */
  loopThreads?: number;
  /** Instruction set oneDNN dispatches to, e.g. "avx512_core_bf16". */
  isa?: string;
  /** Kernels overridden natively for `onednn`. */
  nativeKernels: string[];
}

export function onednnInfo(): OnednnInfo {
  if (!addon) return { available: false, threads: configuredThreads(), nativeKernels: [] };
  const i = addon.info();
  return { available: true, version: i.version, threads: i.threads, loopThreads: i.loopThreads, isa: i.isa, nativeKernels: [...nativeKernelNames] };
}
