import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/** The shape of a layer's (first) input, whether `build`/`computeOutputShape` got one shape or a list. */
export function firstShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
  return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
}

/** The one input tensor of a layer's `call`; `layer`, when given, names the layer in the error. */
export function singleInput(inputs: tf.Tensor | tf.Tensor[], layer?: string): tf.Tensor {
  if (Array.isArray(inputs)) {
    if (inputs.length !== 1) {
      throw new Error(
        layer === undefined ? `Expected one input tensor, got ${inputs.length}.` : `${layer} expects one input tensor, got ${inputs.length}.`,
      );
    }
    return inputs[0]!;
  }
  return inputs;
}

export function inputList(inputs: tf.Tensor | tf.Tensor[], count: number, layer: string): tf.Tensor[] {
  const list = Array.isArray(inputs) ? inputs : [inputs];
  if (list.length !== count) throw new Error(`${layer} expects ${count} inputs, got ${list.length}.`);
  return list;
}
