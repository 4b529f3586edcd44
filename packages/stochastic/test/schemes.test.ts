import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildNetwork } from '@lm/schemes';
import { getModelRandomState } from '../src';
import { countLayers, sampleInput, SCHEMES, smallConfig, STRATEGIES, useCpu } from './helpers';

beforeAll(useCpu);

const LAYER_OF: Record<string, string> = {
  'stochastic-depth': 'LmDropPath',
  'shake-shake': 'LmShakeShake',
  'additive-noise': 'LmAdditiveNoise',
};

function copyWeightsByName(from: tfl.LayersModel, to: tfl.LayersModel): void {
  const visit = (layers: tfl.layers.Layer[]) => {
    for (const l of layers) {
      if (l instanceof tfl.LayersModel) visit(l.layers);
      else if (l.weights.length) l.setWeights(findLayer(from, l.name).getWeights());
    }
  };
  visit(to.layers);
}

function findLayer(model: tfl.LayersModel, name: string): tfl.layers.Layer {
  for (const l of model.layers) {
    if (l.name === name) return l;
    if (l instanceof tfl.LayersModel) {
      try {
        return findLayer(l, name);
      } catch {
        /* not in this sub-model */
      }
    }
  }
  throw new Error(`no layer '${name}' in '${model.name}'`);
}

describe.each(SCHEMES)('scheme %s', (scheme) => {
  it.each(STRATEGIES)('runs %s: build, a training step with finite loss and gradients, deterministic evaluation', (strategy) => {
    const model = buildNetwork(smallConfig(scheme, { name: strategy }));
    expect(countLayers(model, LAYER_OF[strategy]!)).toBeGreaterThan(0);
    const x = sampleInput(4);
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 3);
    const optimizer = tf.train.sgd(0.01);
    const step = (): number => {
      const { value, grads } = tf.variableGrads(() =>
        tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
      );
      const loss = value.dataSync()[0]!;
      const names = Object.keys(grads);
      for (const name of names) expect(grads[name]!.dataSync().every(Number.isFinite)).toBe(true);
      // Every trainable weight receives a gradient (a dropped branch gets zeros, not none).
      expect(names.sort()).toEqual(model.trainableWeights.map((w) => w.name).sort());
      optimizer.applyGradients(grads);
      tf.dispose([value, ...Object.values(grads)]);
      return loss;
    };
    expect(Number.isFinite(step())).toBe(true);
    const before = tf.memory().numTensors;
    expect(Number.isFinite(step())).toBe(true);
    expect(tf.memory().numTensors).toBe(before); // no tensor leaks from a training step

    const a = model.predict(x) as tf.Tensor;
    const b = model.predict(x) as tf.Tensor;
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(a.dataSync().every(Number.isFinite)).toBe(true);
    const c = model.apply(x, { training: false }) as tf.Tensor;
    expect(Array.from(c.dataSync())).toEqual(Array.from(a.dataSync()));
  });

  it.each(['stochastic-depth', 'additive-noise'])(
    'evaluates %s (default scaling) as the strategy-free network with the same weights',
    (strategy) => {
      const withStrategy = buildNetwork(smallConfig(scheme, { name: strategy }));
      const plain = buildNetwork(smallConfig(scheme));
      copyWeightsByName(withStrategy, plain);
      const x = sampleInput(3, 8);
      const a = (withStrategy.predict(x) as tf.Tensor).dataSync();
      const b = (plain.predict(x) as tf.Tensor).dataSync();
      expect(Array.from(a)).toEqual(Array.from(b));
    },
  );
});

describe('model.fit', () => {
  it.each(STRATEGIES)('passes training = true to %s (the layers draw) and trains with a finite loss', async (strategy) => {
    const model = buildNetwork(smallConfig('linear-multi-step', { name: strategy }));
    const before = getModelRandomState(model);
    model.compile({ optimizer: tf.train.sgd(0.01), loss: (yt: tf.Tensor, yp: tf.Tensor) => tf.losses.softmaxCrossEntropy(yt, yp) });
    const x = sampleInput(4);
    const y = tf.cast(tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3), 'float32');
    const history = await model.fit(x, y, { epochs: 1, batchSize: 2, verbose: 0 });
    expect(Number.isFinite(history.history.loss![0] as number)).toBe(true);
    const after = getModelRandomState(model);
    for (const name of Object.keys(before)) expect(after[name]).not.toEqual(before[name]);
    // and evaluation (predict) does not draw
    model.predict(x);
    expect(getModelRandomState(model)).toEqual(after);
  });
});
