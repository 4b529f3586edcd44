import * as tf from '@tensorflow/tfjs-core';
import type { Communicator } from '@lm/mpi';

/** Batch-norm training statistics and output, with the number of values per channel they were computed over. */
export interface SyncBatchNormResult {
  y: tf.Tensor;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
  count: number;
}

/** Per-channel sums over every axis but the last, allreduced in float64 across ranks. */
function globalChannelSums(comm: Pick<Communicator, 'allreduce'>, parts: tf.Tensor[], channels: number): Float64Array[] {
  const local = tf.tidy(() => tf.concat(parts.map((p) => tf.reshape(p, [-1]))));
  const sums = Float64Array.from(local.dataSync());
  local.dispose();
  comm.allreduce(sums);
  return parts.map((_, i) => sums.subarray(i * channels, (i + 1) * channels));
}

/** sums / count as a float32 tensor. */
const perValue = (sums: Float64Array, count: number) => tf.tensor1d(Float32Array.from(sums, (s) => s / count), 'float32');

/**
 * Synchronised batch normalisation (training mode): the statistics are those of the global batch, all ranks'
 * images together, so N ranks with B images each compute what one process computes with N·B images.
 *
 *   μ = Σ_ranks Σ x / N,   σ² = Σ_ranks Σ (x − μ)² / N     (two passes: no cancellation)
 *   y = γ · x̂ + β,          x̂ = (x − μ) / sqrt(σ² + ε)
 *
 * Backward, with the global sums of ∂y and ∂y · x̂ (one more allreduce):
 *   ∂x = γ / sqrt(σ² + ε) · (∂y − Σ∂y / N − x̂ · Σ(∂y · x̂) / N),   ∂γ = Σ_local ∂y · x̂,   ∂β = Σ_local ∂y
 * (∂γ and ∂β are this rank's shares; the gradient allreduce of the step combines them.)
 */
export function syncBatchNormTrain(comm: Pick<Communicator, 'allreduce' | 'size'>) {
  return (x: tf.Tensor, scale: tf.Tensor1D, offset: tf.Tensor1D, epsilon: number): SyncBatchNormResult => {
    const channels = x.shape[x.rank - 1]!;
    const axes = [...Array(x.rank - 1).keys()];
    const counts = new Float64Array([x.size / channels]);
    comm.allreduce(counts);
    const count = counts[0]!;
    const [s1] = globalChannelSums(comm, [tf.tidy(() => tf.sum(x, axes))], channels);
    const mean = perValue(s1!, count);
    const [s2] = globalChannelSums(comm, [tf.tidy(() => tf.sum(tf.square(tf.sub(x, mean)), axes))], channels);
    const variance = perValue(s2!, count);
    const rstd = tf.tidy(() => tf.rsqrt(tf.add(variance, epsilon)));

    const normalise = tf.customGrad(((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
      const xhat = tf.mul(tf.sub(xi, mean), rstd);
      save([xhat, g, rstd]); // saved tensors outlive the layer's tidy until the backward pass
      return {
        value: tf.add(tf.mul(xhat, g), b),
        gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
          const d = dy as tf.Tensor;
          const [xh, gamma, r] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
          const localDy = tf.sum(d, axes);
          const localDyXhat = tf.sum(tf.mul(d, xh), axes);
          const [sdy, sdyx] = globalChannelSums(comm, [localDy, localDyXhat], channels);
          const meanDy = perValue(sdy!, count);
          const meanDyXhat = perValue(sdyx!, count);
          const dx = tf.mul(tf.mul(gamma, r), tf.sub(tf.sub(d, meanDy), tf.mul(xh, meanDyXhat)));
          return [dx, localDyXhat, localDy];
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    const y = normalise(x, scale, offset);
    return { y, mean, variance, count };
  };
}
