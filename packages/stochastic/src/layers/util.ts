import type * as tf from '@tensorflow/tfjs-core';

export function singleInput(inputs: tf.Tensor | tf.Tensor[], layer: string): tf.Tensor {
  if (Array.isArray(inputs)) {
    if (inputs.length !== 1) throw new Error(`${layer} expects one input tensor, got ${inputs.length}.`);
    return inputs[0];
  }
  return inputs;
}

/** [count, 1, 1, ...]: a per-image (or, with count 1, per-batch) coefficient broadcast over a tensor of `rank`. */
export function coefficientShape(count: number, rank: number): number[] {
  return [count, ...Array(Math.max(rank - 1, 0)).fill(1)];
}
