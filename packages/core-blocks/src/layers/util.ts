import type * as tf from '@tensorflow/tfjs-core';

export function singleInput(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  if (Array.isArray(inputs)) {
    if (inputs.length !== 1) throw new Error(`Expected one input tensor, got ${inputs.length}.`);
    return inputs[0]!;
  }
  return inputs;
}

export function inputList(inputs: tf.Tensor | tf.Tensor[], count: number, layer: string): tf.Tensor[] {
  const list = Array.isArray(inputs) ? inputs : [inputs];
  if (list.length !== count) throw new Error(`${layer} expects ${count} inputs, got ${list.length}.`);
  return list;
}
