import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { BatchNorm, foldBatchNorm } from '../src/index';
import { useCpu } from './setup-backend';

const conv = (name: string, filters: number, strides = 1) =>
  tfl.layers.conv2d({ filters, kernelSize: 3, strides, padding: 'same', useBias: false, name, kernelInitializer: tfl.initializers.glorotNormal({ seed: name.length }) });

/** BN statistics and affine weights far from the identity, so that a fold that drops any of them shows. */
function randomiseBatchNorms(model: tfl.LayersModel, seed: number): void {
  for (const l of model.layers) {
    if (l instanceof tfl.LayersModel) randomiseBatchNorms(l, seed + 10);
    if (!(l instanceof BatchNorm)) continue;
    const c = l.getWeights()[0]!.shape[0]!;
    l.setWeights([
      tf.randomUniform([c], 0.5, 1.5, 'float32', seed++), tf.randomUniform([c], -0.5, 0.5, 'float32', seed++),
      tf.randomUniform([c], -0.3, 0.3, 'float32', seed++), tf.randomUniform([c], 0.3, 2, 'float32', seed++),
    ]);
  }
}

/**
 * stem conv → BN+ReLU → [nested branch: conv → BN+ReLU → conv (stride 2) → BN] added to a strided shortcut conv
 * → ReLU → conv read by a BN and by the sum after it (not foldable) → BN → pooling → dense.
 */
function model(): tfl.LayersModel {
  const bin = tfl.input({ shape: [6, 6, 4], name: 'branch_in' });
  let b = conv('b_conv1', 4).apply(bin) as tfl.SymbolicTensor;
  b = new BatchNorm({ name: 'b_bn1', activation: 'relu' }).apply(b) as tfl.SymbolicTensor;
  b = conv('b_conv2', 5, 2).apply(b) as tfl.SymbolicTensor;
  b = new BatchNorm({ name: 'b_bn2' }).apply(b) as tfl.SymbolicTensor;
  const branch = tfl.model({ inputs: bin, outputs: b, name: 'branch' });

  const x = tfl.input({ shape: [6, 6, 3], name: 'image' });
  let u = conv('stem_conv', 4).apply(x) as tfl.SymbolicTensor;
  u = new BatchNorm({ name: 'stem_bn', activation: 'relu' }).apply(u) as tfl.SymbolicTensor;
  const shortcut = tfl.layers.conv2d({ filters: 5, kernelSize: 1, strides: 2, useBias: false, name: 'shortcut' }).apply(u) as tfl.SymbolicTensor;
  let v = tfl.layers.add({ name: 'sum' }).apply([branch.apply(u) as tfl.SymbolicTensor, shortcut]) as tfl.SymbolicTensor;
  v = tfl.layers.reLU({ name: 'sum_relu' }).apply(v) as tfl.SymbolicTensor;
  const shared = conv('shared_conv', 5).apply(v) as tfl.SymbolicTensor;
  const bn = new BatchNorm({ name: 'shared_bn' }).apply(shared) as tfl.SymbolicTensor;
  v = tfl.layers.add({ name: 'sum2' }).apply([bn, shared]) as tfl.SymbolicTensor;
  v = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(v) as tfl.SymbolicTensor;
  const y = tfl.layers.dense({ units: 3, name: 'dense' }).apply(v) as tfl.SymbolicTensor;
  const m = tfl.model({ inputs: x, outputs: y, name: 'net' });
  randomiseBatchNorms(m, 1);
  return m;
}

function relError(a: tf.Tensor, b: tf.Tensor): number {
  const [x, y] = [a.dataSync(), b.dataSync()];
  expect(x.length).toBe(y.length);
  let d = 0, m = 0;
  for (let i = 0; i < x.length; i++) {
    d = Math.max(d, Math.abs(x[i]! - y[i]!));
    m = Math.max(m, Math.abs(y[i]!));
  }
  return d / m;
}

describe('foldBatchNorm', () => {
  beforeAll(useCpu);
  const images = () => tf.randomNormal([3, 6, 6, 3], 0, 1, 'float32', 7);

  it('folds each conv whose only reader is a BN, in nested models too, and computes what evaluation mode does', () => {
    const m = model();
    const f = foldBatchNorm(m);
    // stem_conv, b_conv1, b_conv2: shortcut feeds a sum, shared_conv has two readers
    expect(f.folds).toBe(3);
    const names = (l: tfl.LayersModel): string[] => l.layers.flatMap((x) => (x instanceof tfl.LayersModel ? names(x) : [x.name]));
    const folded = names(f.model);
    expect(folded).not.toContain('stem_bn');
    expect(folded).not.toContain('b_bn1');
    expect(folded).not.toContain('b_bn2');
    expect(folded).toContain('shared_bn');
    expect(folded).toContain('shortcut');
    const x = images();
    const err = relError(f.model.apply(x) as tf.Tensor, m.apply(x, { training: false }) as tf.Tensor);
    expect(err).toBeLessThan(1e-5);
  });

  it('shares the unfolded layers; refresh() brings the folded ones up to date', () => {
    const m = model();
    const f = foldBatchNorm(m);
    const x = images();
    // the dense layer is the original's: a change shows at once
    const dense = m.getLayer('dense');
    dense.setWeights([tf.mul(dense.getWeights()[0]!, 2), dense.getWeights()[1]!]);
    expect(relError(f.model.apply(x) as tf.Tensor, m.apply(x, { training: false }) as tf.Tensor)).toBeLessThan(1e-5);
    // a folded BN's statistics: stale until refresh
    randomiseBatchNorms(m, 50);
    expect(relError(f.model.apply(x) as tf.Tensor, m.apply(x, { training: false }) as tf.Tensor)).toBeGreaterThan(1e-2);
    const before = tf.memory().numTensors;
    f.refresh();
    expect(tf.memory().numTensors).toBe(before);
    expect(relError(f.model.apply(x) as tf.Tensor, m.apply(x, { training: false }) as tf.Tensor)).toBeLessThan(1e-5);
    // dispose frees the folded weights only: the original model still runs
    const variables = tf.memory().numTensors;
    f.dispose();
    expect(tf.memory().numTensors).toBe(variables - 2 * f.folds);
    expect((m.apply(x, { training: false }) as tf.Tensor).shape).toEqual([3, 3]);
  });

  it('does not fold a conv whose output is also an output of the model', () => {
    const x = tfl.input({ shape: [4, 4, 2] });
    const c = conv('c', 2).apply(x) as tfl.SymbolicTensor;
    const m = tfl.model({ inputs: x, outputs: [new BatchNorm({ name: 'bn' }).apply(c) as tfl.SymbolicTensor, c] });
    randomiseBatchNorms(m, 5);
    const f = foldBatchNorm(m);
    expect(f.folds).toBe(0);
    const t = tf.randomNormal([2, 4, 4, 2], 0, 1, 'float32', 11);
    const [a, b] = f.model.apply(t) as tf.Tensor[];
    const [ea, eb] = m.apply(t, { training: false }) as tf.Tensor[];
    expect(relError(a!, ea!)).toBe(0);
    expect(relError(b!, eb!)).toBe(0);
  });

  it('leaves a model without conv → BN pairs computing the same', () => {
    const x = tfl.input({ shape: [4, 4, 2] });
    const y = tfl.layers.dense({ units: 2 }).apply(new BatchNorm({ activation: 'relu' }).apply(x)) as tfl.SymbolicTensor;
    const m = tfl.model({ inputs: x, outputs: y });
    randomiseBatchNorms(m, 3);
    const f = foldBatchNorm(m);
    expect(f.folds).toBe(0);
    const t = tf.randomNormal([2, 4, 4, 2], 0, 1, 'float32', 9);
    expect(relError(f.model.apply(t) as tf.Tensor, m.apply(t, { training: false }) as tf.Tensor)).toBe(0);
  });
});
