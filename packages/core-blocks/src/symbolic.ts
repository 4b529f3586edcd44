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

/**
 * Applies again, to `input`, the chain of single-input layers that led from `from` to `to` (the same layer
 * objects, so the same weights): how one shortcut S is applied to several tensors.
 */
export function replayChain(from: SymbolicTensor, to: SymbolicTensor, input: SymbolicTensor): SymbolicTensor {
  const chain: tfl.layers.Layer[] = [];
  for (let t = to; t !== from; ) {
    const layer = t.sourceLayer as tfl.layers.Layer | undefined;
    const node = layer?.inboundNodes[t.nodeIndex];
    const inputs = node?.inputTensors ?? [];
    if (!layer || inputs.length !== 1) throw new Error(`'${to.name}' is not reached from '${from.name}' through single-input layers.`);
    chain.unshift(layer);
    t = inputs[0]!;
  }
  return chain.reduce((x, layer) => applyLayer(layer, x), input);
}
