import * as tf from '@tensorflow/tfjs-core';

/**
 * Kernel contract shared with backends (e.g. `@lm/backend-onednn`): inputs {movingMean, movingVariance, mean,
 * variance}, attrs {momentum, varianceCorrection}, outputs [movingMean', movingVariance'] with
 *   movingMean'     = momentum · movingMean     + (1 − momentum) · mean
 *   movingVariance' = momentum · movingVariance + (1 − momentum) · varianceCorrection · variance
 * each product and sum rounded to float32 as the composed tf ops round them (so both paths agree bit for bit).
 * The kernel has no gradient: the moving statistics never reach the loss.
 */
export const MOVING_STATS_UPDATE_KERNEL = 'LmMovingStatsUpdate';

export interface MovingStatsUpdate {
  movingMean: tf.Tensor1D;
  movingVariance: tf.Tensor1D;
}

/**
 * The batch-norm moving statistics after one training batch. `count` values per channel stand behind the biased
 * batch `variance`, so the moving variance takes the unbiased one, variance · count / (count − 1), as PyTorch.
 * One kernel when the backend has it (one dispatch instead of seven, none of them recorded with saved tensors),
 * else the composed ops.
 */
export function updateMovingStats(
  movingMean: tf.Tensor,
  movingVariance: tf.Tensor,
  mean: tf.Tensor,
  variance: tf.Tensor,
  momentum: number,
  count: number,
): MovingStatsUpdate {
  const varianceCorrection = count / Math.max(count - 1, 1);
  if (tf.getKernel(MOVING_STATS_UPDATE_KERNEL, tf.getBackend())) {
    const [m, v] = tf.engine().runKernel(MOVING_STATS_UPDATE_KERNEL, { movingMean, movingVariance, mean, variance }, { momentum, varianceCorrection }) as tf.Tensor[];
    return { movingMean: m as tf.Tensor1D, movingVariance: v as tf.Tensor1D };
  }
  return tf.tidy(() => ({
    movingMean: tf.add(tf.mul(movingMean, momentum), tf.mul(mean, 1 - momentum)) as tf.Tensor1D,
    movingVariance: tf.add(tf.mul(movingVariance, momentum), tf.mul(tf.mul(variance, varianceCorrection), 1 - momentum)) as tf.Tensor1D,
  }));
}
