import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology';
import { GROUPED_CONV2D_KERNEL, hasGroupedConv2D } from './grouped-conv-op';
import { singleInput, firstShape } from './util';

export interface GroupedConv2DArgs extends LayerArgs {
  filters: number;
  kernelSize: number;
  strides?: number;
  padding?: 'same' | 'valid';
  /** Cardinality: input and output channels are split into this many independent groups. */
  groups: number;
  useBias?: boolean;
  seed?: number;
  /** He-normal over fan_in = k² C_in / groups (default) or fan_out = k² filters (PyTorch's fan_out). */
  fanMode?: 'fanIn' | 'fanOut';
}

/**
 * 2-D convolution with `groups` independent channel groups (ResNeXt's aggregated transformations).
 * The kernel has shape [k, k, C_in / groups, filters]; output channels [g·F/G, (g+1)·F/G) see only input
 * channels [g·C/G, (g+1)·C/G).
 */
export class GroupedConv2D extends tfl.layers.Layer {
  static className = 'LmGroupedConv2D';
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides: number;
  readonly padding: 'same' | 'valid';
  readonly groups: number;
  readonly useBias: boolean;
  readonly seed?: number;
  readonly fanMode: 'fanIn' | 'fanOut';
  private kernel!: tfl.LayerVariable;
  private bias?: tfl.LayerVariable;

  constructor(args: GroupedConv2DArgs) {
    super(args);
    this.filters = args.filters;
    this.kernelSize = args.kernelSize;
    this.strides = args.strides ?? 1;
    this.padding = args.padding ?? 'same';
    this.groups = args.groups;
    this.useBias = args.useBias ?? false;
    this.seed = args.seed;
    this.fanMode = args.fanMode ?? 'fanIn';
    if (!Number.isInteger(this.groups) || this.groups < 1) throw new Error(`${this.name}: groups must be a positive integer.`);
    if (this.filters % this.groups !== 0) {
      throw new Error(`${this.name}: filters (${this.filters}) must be divisible by groups (${this.groups}).`);
    }
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = firstShape(inputShape);
    const channels = shape[shape.length - 1];
    if (channels == null || channels % this.groups !== 0) {
      throw new Error(`${this.name}: input channels (${channels}) must be divisible by groups (${this.groups}).`);
    }
    const k = this.kernelSize;
    const fan = this.fanMode === 'fanOut' ? k * k * this.filters : k * k * (channels / this.groups);
    const init = tfl.initializers.randomNormal({ mean: 0, stddev: Math.sqrt(2 / fan), seed: this.seed });
    this.kernel = this.addWeight('kernel', [k, k, channels / this.groups, this.filters], 'float32', init);
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = firstShape(inputShape);
    const [n, h, w] = shape;
    const out = (d: number | null) => {
      if (d == null) return null;
      return this.padding === 'same' ? Math.ceil(d / this.strides) : Math.ceil((d - this.kernelSize + 1) / this.strides);
    };
    return [n ?? null, out(h ?? null), out(w ?? null), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput(inputs) as tf.Tensor4D;
      const kernel = this.kernel.read() as tf.Tensor4D;
      let y = groupedConv2d(x, kernel, this.strides, this.padding, this.groups);
      if (this.bias) y = tf.add(y, this.bias.read());
      return y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      groups: this.groups,
      useBias: this.useBias,
      ...(this.fanMode !== 'fanIn' ? { fanMode: this.fanMode } : {}),
      ...(this.seed !== undefined ? { seed: this.seed } : {}),
    };
  }
}
tf.serialization.registerClass(GroupedConv2D);

/**
 * Grouped convolution: split input and kernel into `groups` channel slices, convolve each pair, concatenate.
 * One convolution when groups = 1. Runs the backend's grouped kernel (grouped-conv-op.ts) when it has one, else
 * composes stock ops (differentiated by the tape).
 */
export function groupedConv2d(
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  strides: number,
  padding: 'same' | 'valid',
  groups: number,
): tf.Tensor4D {
  if (groups === 1) return tf.conv2d(x, kernel, strides, padding);
  if (hasGroupedConv2D()) {
    return tf.engine().runKernel(GROUPED_CONV2D_KERNEL, { x, filter: kernel }, { strides, pad: padding, groups }) as tf.Tensor4D;
  }
  const xs = tf.split(x, groups, 3) as tf.Tensor4D[];
  const ks = tf.split(kernel, groups, 3) as tf.Tensor4D[];
  const ys = xs.map((xi, g) => tf.conv2d(xi, ks[g]!, strides, padding));
  return tf.concat4d(ys, 3);
}
