import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { BatchNorm, buildBranch, registry } from '../src/index';
import { useCpu } from './setup-backend';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** A BatchNorm with activation 'relu', and the same BatchNorm followed by a ReLU layer, sharing weights. */
function pair(c: number): { fused: BatchNorm; plain: BatchNorm } {
  const fused = new BatchNorm({ activation: 'relu' }), plain = new BatchNorm();
  fused.build([null, 5, 3, c]);
  plain.build([null, 5, 3, c]);
  const w = [tf.randomUniform([c], 0.5, 1.5, 'float32', 1), tf.randomUniform([c], -0.5, 0.5, 'float32', 2),
    tf.randomUniform([c], -0.3, 0.3, 'float32', 3), tf.randomUniform([c], 0.5, 2, 'float32', 4)];
  fused.setWeights(w);
  plain.setWeights(w);
  return { fused, plain };
}

describe("BatchNorm activation 'relu'", () => {
  beforeAll(useCpu);

  for (const training of [false, true]) {
    it(`equals BatchNorm then ReLU, outputs and gradients (training ${training})`, () => {
      const { fused, plain } = pair(3);
      const x = tf.randomNormal([2, 5, 3, 3], 0, 1, 'float32', 5);
      const r = tf.randomNormal([2, 5, 3, 3], 0, 1, 'float32', 6);
      const loss = (f: (x: tf.Tensor) => tf.Tensor) => (xx: tf.Tensor) => tf.sum(tf.mul(f(xx), r));
      const viaFused = (xx: tf.Tensor) => fused.apply(xx, { training }) as tf.Tensor;
      const viaPlain = (xx: tf.Tensor) => tf.relu(plain.apply(xx, { training }) as tf.Tensor);
      const yf = viaFused(x).dataSync(), yp = viaPlain(x).dataSync();
      expect(maxAbsDiff(yf, yp)).toBeLessThan(1e-5);
      expect(yf.some((v) => v === 0) && yf.some((v) => v > 0), 'the ReLU clips some values').toBe(true);
      const gf = tf.grad(loss(viaFused))(x).dataSync(), gp = tf.grad(loss(viaPlain))(x).dataSync();
      expect(maxAbsDiff(gf, gp)).toBeLessThan(1e-5);
      // moving statistics updated alike
      fused.getWeights().forEach((w, i) => expect(maxAbsDiff(w.dataSync(), plain.getWeights()[i]!.dataSync())).toBeLessThan(1e-6));
    });
  }

  it("serialises 'relu' and leaves the config of a plain BatchNorm as it was", () => {
    expect(new BatchNorm({ name: 'a' }).getConfig()).not.toHaveProperty('activation');
    const config = new BatchNorm({ name: 'b', activation: 'relu' }).getConfig();
    expect(config.activation).toBe('relu');
    const back = tf.serialization.SerializationMap.getMap().classNameMap['LmBatchNorm']![1](BatchNorm, config) as BatchNorm;
    expect(back.activation).toBe('relu');
  });

  it('rejects an unknown activation, naming the option', () => {
    expect(() => new BatchNorm({ name: 'bad', activation: 'tanh' as 'relu' })).toThrow("bad: BatchNorm option 'activation' must be 'linear' or 'relu', got 'tanh'.");
  });
});

interface SavedBranch {
  modelTopology: object;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: number[];
  input: { shape: number[]; values: number[] };
  evalOutput: number[];
  trainOutput: number[];
}

describe('branches saved before the fusion (separate ReLU layers)', () => {
  beforeAll(useCpu);
  const saved = JSON.parse(readFileSync(new URL('./fixtures/saved-before-bn-relu.json', import.meta.url), 'utf8')) as Record<string, SavedBranch>;

  for (const name of ['basic', 'preact-basic', 'bottleneck']) {
    it(`${name}: loads, predicts as when saved, and as today's fused branch with the same weights`, async () => {
      const s = saved[name]!;
      const load = () => tfl.loadLayersModel(tf.io.fromMemory({
        modelTopology: s.modelTopology, weightSpecs: s.weightSpecs, weightData: new Float32Array(s.weightData).buffer,
      }));
      const old = await load();
      expect(old.layers.some((l) => l.getClassName() === 'ReLU')).toBe(true);
      const x = tf.tensor(s.input.values, s.input.shape);
      expect(maxAbsDiff((old.predict(x) as tf.Tensor).dataSync(), s.evalOutput)).toBeLessThan(1e-5);
      expect(maxAbsDiff((old.apply(x, { training: true }) as tf.Tensor).dataSync(), s.trainOutput)).toBeLessThan(1e-5);

      const block = registry.get('block', name);
      const inC = s.input.shape[3]!;
      const width = name === 'bottleneck' ? 2 : 4;
      const prefix = `t_${name.replace('-', '_')}`;
      const today = buildBranch(name, block, [5, 3, inC], { inChannels: inC, width, outChannels: width * block.expansion, stride: 1, name: prefix, seed: 1, options: block.defaults ?? {} });
      expect(today.layers.some((l) => l.getClassName() === 'ReLU'), 'the BN-ReLU pairs are fused').toBe(false);
      const fresh = await load();
      const byName = new Map(fresh.weights.map((w, i) => [w.originalName, fresh.getWeights()[i]!]));
      today.setWeights(today.weights.map((w) => byName.get(w.originalName)!));
      expect(maxAbsDiff((today.predict(x) as tf.Tensor).dataSync(), s.evalOutput)).toBeLessThan(1e-5);
      expect(maxAbsDiff((today.apply(x, { training: true }) as tf.Tensor).dataSync(), s.trainOutput)).toBeLessThan(1e-5);
    });
  }
});
