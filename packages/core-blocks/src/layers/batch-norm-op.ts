import * as tf from '@tensorflow/tfjs-core';

/**
 * Kernel contract shared with native backends (e.g. `@lm/backend-onednn`): inputs {x, scale, offset},
 * attrs {epsilon}, outputs [y, mean, variance] with the biased batch variance over all axes but the last.
 * The backend registers the kernel, its gradient kernel `LmBatchNormTrainGrad` and the gradient itself.
 */
export const BATCH_NORM_TRAIN_KERNEL = 'LmBatchNormTrain';

export interface BatchNormTrainResult {
  y: tf.Tensor;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
  /** Values per channel behind the statistics, when not those of `x` alone (synchronised batch norm). */
  count?: number;
}

/** Replaces the batch statistics computation (data-parallel training: synchronised batch norm); undefined restores it. */
export type BatchNormTrainOverride = (x: tf.Tensor, scale: tf.Tensor1D, offset: tf.Tensor1D, epsilon: number) => BatchNormTrainResult;
let override: BatchNormTrainOverride | undefined;
export function setBatchNormTrainOverride(fn: BatchNormTrainOverride | undefined): void {
  override = fn;
}

/** Whether the active backend provides the fused training batch norm. */
export function hasFusedBatchNormTrain(): boolean {
  return tf.getKernel(BATCH_NORM_TRAIN_KERNEL, tf.getBackend()) !== undefined;
}

/**
 * Batch normalisation with batch statistics (training mode):
 * y = scale · (x − μ_B) / sqrt(σ²_B + ε) + offset, with μ_B, σ²_B over every axis but the channel axis.
 * Runs the backend's fused kernel when it has one and composes stock ops (differentiated by the tape) otherwise.
 */
export function batchNormTrain(
  x: tf.Tensor,
  scale: tf.Tensor1D,
  offset: tf.Tensor1D,
  epsilon: number,
): BatchNormTrainResult {
  if (override) return override(x, scale, offset, epsilon);
  if (hasFusedBatchNormTrain()) {
    const [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAIN_KERNEL, { x, scale, offset }, { epsilon }) as tf.Tensor[];
    return { y: y!, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  const axes = [...Array(x.rank - 1).keys()];
  const { mean, variance } = tf.moments(x, axes);
  const y = tf.batchNorm(x, mean, variance, offset, scale, epsilon);
  return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}
