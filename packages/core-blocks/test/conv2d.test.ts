import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { Conv2DSeparateGrads } from '../src/layers/conv2d';
import { useCpu } from './setup-backend';

const args = { filters: 5, kernelSize: 3, strides: 2, padding: 'same' as const, useBias: false, kernelInitializer: 'glorotNormal' as const };

/** The kernels one training-style backward pass over a conv layer runs, with the gradient asked for its kernel only. */
function backwardKernels(layer: tfl.layers.Layer, x: tf.Tensor4D): Promise<string[]> {
  layer.apply(x);
  const kernel = layer.trainableWeights[0]!.read() as tf.Variable;
  return tf.profile(() => tf.variableGrads(() => tf.sum(layer.apply(x) as tf.Tensor), [kernel]).grads[kernel.name]!).then((p) => p.kernelNames);
}

describe('Conv2DSeparateGrads', () => {
  beforeAll(useCpu);
  const x = tf.randomNormal([2, 7, 7, 3], 0, 1, 'float32', 1) as tf.Tensor4D;

  it('gives the outputs of tfjs-layers Conv2D with the same weights, and their kernel gradients', () => {
    const ours = new Conv2DSeparateGrads(args), theirs = tfl.layers.conv2d(args);
    ours.apply(x), theirs.apply(x);
    theirs.setWeights(ours.getWeights());
    expect(tf.max(tf.abs(tf.sub(ours.apply(x) as tf.Tensor, theirs.apply(x) as tf.Tensor))).dataSync()[0]).toBeLessThan(1e-6);
    const grad = (l: tfl.layers.Layer) => tf.grad((k: tf.Tensor) => tf.sum(tf.conv2d(x, k as tf.Tensor4D, 2, 'same')))(l.getWeights()[0]!);
    expect(tf.max(tf.abs(tf.sub(grad(ours), grad(theirs)))).dataSync()[0]).toBeLessThan(1e-6);
  });

  it('skips the input gradient when only the kernel needs one (the stem over the images); Conv2D computes it', async () => {
    expect(await backwardKernels(new Conv2DSeparateGrads(args), x)).not.toContain('Conv2DBackpropInput');
    expect(await backwardKernels(tfl.layers.conv2d(args), x)).toContain('Conv2DBackpropInput');
  });

  it("serialises as tfjs-layers' 'Conv2D' and loads back as one with the same config and outputs", async () => {
    const model = tfl.sequential({ layers: [new Conv2DSeparateGrads({ ...args, inputShape: [7, 7, 3] })] });
    const topology = model.toJSON(null, false) as { config: { layers: { class_name: string }[] } };
    expect(topology.config.layers.map((l) => l.class_name)).toEqual(['Conv2D']);
    const loaded = await tfl.models.modelFromJSON({ modelTopology: topology } as never);
    loaded.setWeights(model.getWeights());
    expect(loaded.layers[0]!.getClassName()).toBe('Conv2D');
    expect(loaded.layers[0]!.getConfig()).toEqual(model.layers[0]!.getConfig());
    expect(tf.max(tf.abs(tf.sub(loaded.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor))).dataSync()[0]).toBeLessThan(1e-6);
  });

  it('falls back to Conv2D itself with a bias or an activation', () => {
    const layer = new Conv2DSeparateGrads({ ...args, useBias: true, activation: 'relu' });
    const theirs = tfl.layers.conv2d({ ...args, useBias: true, activation: 'relu' });
    layer.apply(x), theirs.apply(x);
    theirs.setWeights(layer.getWeights());
    expect(tf.max(tf.abs(tf.sub(layer.apply(x) as tf.Tensor, theirs.apply(x) as tf.Tensor))).dataSync()[0]).toBeLessThan(1e-6);
  });
});
