import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { BatchNorm } from '@lm/core-blocks';
import { ArraySplit } from '@lm/data-cifar';
import { buildModel, evaluate, resolveConfig } from '../src/index';

/** Moving statistics and affine weights away from their initial values, as after training. */
function trainedBatchNorms(model: tfl.LayersModel, seed: number): number {
  let n = 0;
  for (const l of model.layers) {
    if (l instanceof tfl.LayersModel) n += trainedBatchNorms(l, seed + 100 * ++n);
    if (!(l instanceof BatchNorm)) continue;
    const c = l.getWeights()[0]!.shape[0]!;
    l.setWeights([
      tf.randomUniform([c], 0.5, 1.5, 'float32', seed++), tf.randomUniform([c], -0.5, 0.5, 'float32', seed++),
      tf.randomUniform([c], -0.3, 0.3, 'float32', seed++), tf.randomUniform([c], 0.3, 2, 'float32', seed++),
    ]);
    n++;
  }
  return n;
}

function split(n: number): ArraySplit {
  const images = new Uint8Array(n * 32 * 32 * 3);
  for (let i = 0; i < images.length; i++) images[i] = (i * 7919 + (i >> 5) * 31) % 256;
  return new ArraySplit(images, Int32Array.from({ length: n }, (_, i) => i % 10), 10, { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
}

describe('evaluate() folds BatchNorm into the convolutions', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  for (const name of ['resnet20', 'lm-resnet20']) {
    it(`${name}: the same loss and errors as the model's own layers, and no tensor left behind`, async () => {
      const model = buildModel(resolveConfig({ model: name }), 10, [32, 32, 3]);
      expect(trainedBatchNorms(model, 1)).toBeGreaterThan(10);
      const data = split(6);
      const plain = await evaluate(model, data, { numClasses: 10, batchSize: 4, foldBatchNorm: false });
      const before = tf.memory().numTensors;
      const folded = await evaluate(model, data, { numClasses: 10, batchSize: 4 });
      expect(tf.memory().numTensors).toBe(before);
      expect(Math.abs(folded.loss - plain.loss) / plain.loss).toBeLessThan(1e-5);
      expect(folded.top1Error).toBe(plain.top1Error);
      expect(folded.top5Error).toBe(plain.top5Error);
    }, 60_000);
  }

  it('resnet20: every BatchNorm follows a convolution, so the default (folded) pass runs no batch-norm kernel', async () => {
    const model = buildModel(resolveConfig({ model: 'resnet20' }), 10, [32, 32, 3]);
    trainedBatchNorms(model, 7);
    const data = split(2);
    const bnKernels = async (foldBatchNorm?: boolean) => {
      const info = await tf.profile(async () => void (await evaluate(model, data, { numClasses: 10, batchSize: 2, foldBatchNorm })));
      return info.kernels.filter((k) => /BatchNorm/.test(k.name)).length;
    };
    expect(await bnKernels(false)).toBe(19);
    expect(await bnKernels()).toBe(0);
    expect(await bnKernels(true)).toBe(0);
  }, 60_000);
});
