import * as tf from '@tensorflow/tfjs-core';

/**
 * Kernel contract shared with native backends (e.g. `@lm/backend-onednn`): inputs {x, filter} with NHWC x and
 * filter [k, k, C_in / groups, F], attrs {strides, pad: 'same' | 'valid' (tf.conv2d's arithmetic), groups},
 * one output: the split/conv2d/concat of {@link groupedConv2d}. The backend registers the kernel, its gradient
 * kernels `LmConv2DGroupedBackpropInput` / `LmConv2DGroupedBackpropFilter` and the gradient itself.
 * (Not the layer's className `LmGroupedConv2D`.)
 */
export const GROUPED_CONV2D_KERNEL = 'LmConv2DGrouped';

/** Whether the active backend provides grouped convolution as one kernel. */
export function hasGroupedConv2D(): boolean {
  return tf.getKernel(GROUPED_CONV2D_KERNEL, tf.getBackend()) !== undefined;
}
