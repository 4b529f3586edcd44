import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology';
import { singleInput, firstShape } from './util';

export interface ZeroPadShortcutArgs extends LayerArgs {
  outChannels: number;
  stride: number;
}

/**
 * He et al.'s option A shortcut: the identity subsampled by `stride` with the new channels zero-padded
 * (half before, half after, as the CIFAR reference implementations do). No weights.
 */
export class ZeroPadShortcut extends tfl.layers.Layer {
  static className = 'LmZeroPadShortcut';
  readonly outChannels: number;
  readonly stride: number;

  constructor(args: ZeroPadShortcutArgs) {
    super(args);
    this.outChannels = args.outChannels;
    this.stride = args.stride;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const [n, h, w] = firstShape(inputShape);
    const sub = (d: number | null | undefined) => (d == null ? null : Math.ceil(d / this.stride));
    return [n ?? null, sub(h), sub(w), this.outChannels];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      let x = singleInput(inputs) as tf.Tensor4D;
      const c = x.shape[3];
      if (this.outChannels < c) throw new Error(`${this.name}: cannot zero-pad ${c} channels down to ${this.outChannels}.`);
      // A 1x1 average pool with stride s keeps every s-th pixel: the subsampled identity.
      if (this.stride > 1) x = tf.avgPool(x, 1, this.stride, 'valid');
      const extra = this.outChannels - c;
      if (extra === 0) return x;
      const before = Math.floor(extra / 2);
      return tf.pad(x, [[0, 0], [0, 0], [0, 0], [before, extra - before]]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), outChannels: this.outChannels, stride: this.stride };
  }
}
tf.serialization.registerClass(ZeroPadShortcut);
