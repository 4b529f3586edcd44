import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

type Conv2DLayer = ReturnType<typeof tfl.layers.conv2d>;
type Conv2DArgs = Parameters<typeof tfl.layers.conv2d>[0];

/** tfjs-layers' Conv2D class as it registered itself for deserialisation (the package exports only its factory). */
const Conv2DBase = tf.serialization.SerializationMap.getMap().classNameMap['Conv2D']?.[0] as unknown as new (args: Conv2DArgs) => Conv2DLayer;
if (typeof Conv2DBase !== 'function') throw new Error("@lm/core-blocks: @tensorflow/tfjs-layers registered no 'Conv2D' class");

/** The fields of tfjs-layers' convolution layers that `call` reads (protected in their typings). */
interface ConvFields {
  kernel: tfl.LayerVariable;
  strides: number[];
  padding: 'valid' | 'same' | 'causal';
  dilationRate: number | number[];
  useBias: boolean;
  dataFormat: string;
  activation: { getClassName(): string };
}

/**
 * tfjs-layers' Conv2D, whose training gradient gives the input's and the filter's gradients separately, each
 * computed when asked for: without bias and activation it runs `tf.conv2d`, whose registered gradient has one
 * thunk per input, where Conv2D's `tf.fused.conv2d` computes both eagerly in a custom gradient. The reverse pass
 * then skips the input gradient of a convolution whose input needs none: the stem's, over the images (one
 * Conv2DBackpropInput at full resolution per training step). Same weights, config and outputs; it serialises as
 * 'Conv2D' and loads as tfjs-layers' own.
 */
export class Conv2DSeparateGrads extends Conv2DBase {
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const c = this as unknown as ConvFields;
    if (c.useBias || c.dataFormat !== 'channelsLast' || c.padding === 'causal' || c.activation.getClassName() !== 'linear') return super.call(inputs, kwargs);
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const dilation = typeof c.dilationRate === 'number' ? [c.dilationRate, c.dilationRate] : c.dilationRate;
    return tf.conv2d(x as tf.Tensor4D, c.kernel.read() as tf.Tensor4D, [c.strides[0]!, c.strides[1]!], c.padding, 'NHWC', [dilation[0]!, dilation[1]!]);
  }
}
