import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology';
import { inputList, firstShape } from './util';

export interface WeightedSumArgs extends LayerArgs {
  /** Fixed coefficients c_i of Σ c_i x_i, one per input. */
  coefficients: number[];
}

/**
 * Σ c_i x_i for inputs of one shape, differentiated without keeping any input: ∂/∂x_i = c_i · dy. (tf.add's
 * gradient keeps both inputs, for their shapes, so a residual sum would keep f(u) alive until the backward pass.)
 * Inputs of different shapes (broadcasting) are composed from tf.add and tf.mul.
 */
export function weightedSum(xs: tf.Tensor[], coefficients: number[]): tf.Tensor {
  const compose = (ts: tf.Tensor[]) =>
    tf.tidy(() => ts.reduce<tf.Tensor | undefined>((sum, x, i) => {
      const c = coefficients[i]!;
      const term = c === 1 ? x : tf.mul(x, c);
      return sum === undefined ? term : tf.add(sum, term);
    }, undefined)!);
  const shape = xs[0]!.shape;
  if (xs.length === 1 || xs.some((x) => x.dtype !== 'float32' || !tf.util.arraysEqual(x.shape, shape))) return compose(xs);
  const op = tf.customGrad(((...ts: tf.Tensor[]) => ({
    value: compose(ts.slice(0, xs.length)),
    // clones share dy's data: each input's gradient is a tensor of its own, as the tape expects
    gradFunc: (dy: tf.Tensor) => coefficients.map((c) => (c === 1 ? tf.clone(dy) : tf.mul(dy, c))),
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(...xs);
}

/** Σ c_i x_i with fixed coefficients: the update of an explicit scheme, e.g. u + Δt f(u). */
export class WeightedSum extends tfl.layers.Layer {
  static className = 'LmWeightedSum';
  readonly coefficients: number[];

  constructor(args: WeightedSumArgs) {
    super(args);
    if (!args.coefficients?.length) throw new Error('WeightedSum needs at least one coefficient.');
    this.coefficients = [...args.coefficients];
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return firstShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return weightedSum(inputList(inputs, this.coefficients.length, this.name), this.coefficients);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), coefficients: [...this.coefficients] };
  }
}
tf.serialization.registerClass(WeightedSum);
