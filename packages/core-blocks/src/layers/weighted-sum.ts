import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology';
import { inputList, firstShape } from './util';

export interface WeightedSumArgs extends LayerArgs {
  /** Fixed coefficients c_i of Σ c_i x_i, one per input. */
  coefficients: number[];
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
    return tf.tidy(() => {
      const xs = inputList(inputs, this.coefficients.length, this.name);
      let sum: tf.Tensor | undefined;
      xs.forEach((x, i) => {
        const c = this.coefficients[i]!;
        const term = c === 1 ? x : tf.mul(x, c);
        sum = sum === undefined ? term : tf.add(sum, term);
      });
      return sum!;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), coefficients: [...this.coefficients] };
  }
}
tf.serialization.registerClass(WeightedSum);
