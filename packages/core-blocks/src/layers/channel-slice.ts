import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology';
import { singleInput, firstShape } from './util';

export interface ChannelSliceArgs extends LayerArgs {
  begin: number;
  size: number;
}

/** Channels [begin, begin + size) of an NHWC tensor (RevNet's split into x1, x2). */
export class ChannelSlice extends tfl.layers.Layer {
  static className = 'LmChannelSlice';
  readonly begin: number;
  readonly size: number;

  constructor(args: ChannelSliceArgs) {
    super(args);
    this.begin = args.begin;
    this.size = args.size;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = [...firstShape(inputShape)];
    shape[shape.length - 1] = this.size;
    return shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput(inputs);
      const begin = x.shape.map((_, i) => (i === x.rank - 1 ? this.begin : 0));
      const size = x.shape.map((d, i) => (i === x.rank - 1 ? this.size : d));
      return tf.slice(x, begin, size);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), begin: this.begin, size: this.size };
  }
}
tf.serialization.registerClass(ChannelSlice);
