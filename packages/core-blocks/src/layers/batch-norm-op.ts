import * as tf from '@tensorflow/tfjs-core';

/**
 * Kernel contract shared with native backends (e.g. `@lm/backend-onednn`): inputs {x, scale, offset},
 * attrs {epsilon}, outputs [y, mean, variance] with the biased batch variance over all axes but the last.
 * The backend registers the kernel, its gradient kernel `LmBatchNormTrainGrad` and the gradient itself.
 */
export const BATCH_NORM_TRAIN_KERNEL = 'LmBatchNormTrain';
/**
 * The same with a ReLU on y: outputs [max(y, 0), mean, variance, reluMask] (reluMask: the backend's own record of
 * where y > 0, for its gradient, which masks dy by it).
 */
export const BATCH_NORM_RELU_TRAIN_KERNEL = 'LmBatchNormReluTrain';
/**
 * Evaluation-mode BN+ReLU with given statistics: inputs {x, mean, variance, scale, offset}, attrs {epsilon},
 * output max(scale · (x − mean) / sqrt(variance + ε) + offset, 0). Optional: composed from stock ops when absent.
 */
export const BATCH_NORM_RELU_INFERENCE_KERNEL = 'LmBatchNormReluInference';

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

/** Whether the active backend provides the fused training batch norm (with a ReLU: its ReLU variant). */
export function hasFusedBatchNormTrain(relu = false): boolean {
  return tf.getKernel(relu ? BATCH_NORM_RELU_TRAIN_KERNEL : BATCH_NORM_TRAIN_KERNEL, tf.getBackend()) !== undefined;
}

/**
 * Batch normalisation with batch statistics (training mode):
 * y = scale · (x − μ_B) / sqrt(σ²_B + ε) + offset, with μ_B, σ²_B over every axis but the channel axis.
 * With `relu`, y is max(y, 0) (BN followed by ReLU, one kernel where the backend has it).
 * Runs the backend's fused kernel when it has one and composes stock ops (differentiated by the tape) otherwise.
 */
export function batchNormTrain(
  x: tf.Tensor,
  scale: tf.Tensor1D,
  offset: tf.Tensor1D,
  epsilon: number,
  relu = false,
): BatchNormTrainResult {
  if (override) {
    const r = override(x, scale, offset, epsilon);
    return relu ? { ...r, y: tf.relu(r.y) } : r;
  }
  if (hasFusedBatchNormTrain(relu)) {
    const kernel = relu ? BATCH_NORM_RELU_TRAIN_KERNEL : BATCH_NORM_TRAIN_KERNEL;
    const [y, mean, variance] = tf.engine().runKernel(kernel, { x, scale, offset }, { epsilon }) as tf.Tensor[];
    return { y: y!, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  const axes = [...Array(x.rank - 1).keys()];
  const { mean, variance } = tf.moments(x, axes);
  const y = tf.batchNorm(x, mean, variance, offset, scale, epsilon);
  return { y: relu ? tf.relu(y) : y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

/**
 * Batch normalisation with given statistics (evaluation mode), optionally followed by a ReLU: the backend's
 * {@link BATCH_NORM_RELU_INFERENCE_KERNEL} when it has one, else tf.batchNorm (then tf.relu).
 */
export function batchNormInference(
  x: tf.Tensor,
  mean: tf.Tensor,
  variance: tf.Tensor,
  scale: tf.Tensor1D,
  offset: tf.Tensor1D,
  epsilon: number,
  relu = false,
): tf.Tensor {
  if (relu && tf.getKernel(BATCH_NORM_RELU_INFERENCE_KERNEL, tf.getBackend()) !== undefined) {
    return tf.engine().runKernel(BATCH_NORM_RELU_INFERENCE_KERNEL, { x, mean, variance, scale, offset }, { epsilon }) as tf.Tensor;
  }
  const y = tf.batchNorm(x, mean, variance, offset, scale, epsilon);
  return relu ? tf.relu(y) : y;
}
