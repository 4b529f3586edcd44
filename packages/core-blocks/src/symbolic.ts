import type * as tfl from '@tensorflow/tfjs-layers';

/** A node of a TensorFlow.js layers graph (the type `tf.input()` returns). */
export type SymbolicTensor = tfl.SymbolicTensor;

/** Applies a layer to one symbolic tensor and returns one symbolic tensor. */
export function applyLayer(layer: tfl.layers.Layer, x: SymbolicTensor | SymbolicTensor[]): SymbolicTensor {
  return layer.apply(x) as SymbolicTensor;
}

/** Channels (last axis) of an NHWC symbolic tensor. */
export function channelsOf(x: SymbolicTensor): number {
  const c = x.shape[x.shape.length - 1];
  if (c == null) throw new Error(`Tensor '${x.name}' has an unknown channel dimension.`);
  return c;
}

/** [H, W, C] of an NHWC symbolic tensor. */
export function hwcOf(x: SymbolicTensor): [number, number, number] {
  const [, h, w, c] = x.shape;
  if (h == null || w == null || c == null) throw new Error(`Tensor '${x.name}' needs a known [H, W, C] shape.`);
  return [h, w, c];
}
