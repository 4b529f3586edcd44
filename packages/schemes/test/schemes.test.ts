import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry } from '@lm/core-blocks';
import { loadModel, loadPlugin, saveModel } from '@lm/core-blocks/node';
import { buildNetwork, createModel, invertRevNetStep, lmCoefficients, type NetworkConfig } from '../src/index';
import { useCpu } from './setup-backend';

const here = dirname(fileURLToPath(import.meta.url));
const SCHEMES = ['forward-euler', 'linear-multi-step', 'runge-kutta2', 'approx-backward-euler', 'revnet'];

function tinyNet(scheme: string, block: string, overrides: Partial<NetworkConfig> = {}): tfl.LayersModel {
  return buildNetwork({
    name: `tiny-${scheme}`, stem: 'cifar', stemWidth: 4, stageWidths: [4, 8], blocksPerStage: [2, 2],
    block, scheme, shortcut: 'projection-preact', numClasses: 2, inputShape: [8, 8, 3], dt: 1, seed: 4, ...overrides,
  });
}

/** Two classes told apart by the sign of a smooth pattern in the first channel, plus noise. */
function toyTask(n: number, seed: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  return tf.tidy(() => {
    const labels = tf.cast(tf.greater(tf.randomUniform([n], 0, 1, 'float32', seed), 0.5), 'int32') as tf.Tensor1D;
    const sign = tf.reshape(tf.sub(tf.mul(tf.cast(labels, 'float32'), 2), 1), [n, 1, 1, 1]);
    const ramp = tf.reshape(tf.linspace(-1, 1, 8), [1, 8, 1, 1]);
    const pattern = tf.concat([tf.mul(sign, tf.tile(ramp, [1, 1, 8, 1])), tf.zeros([n, 8, 8, 2])], 3);
    const x = tf.add(pattern, tf.randomNormal([n, 8, 8, 3], 0, 0.3, 'float32', seed + 1)) as tf.Tensor4D;
    return { x, y: tf.oneHot(labels, 2) as tf.Tensor2D };
  });
}

function trainSteps(model: tfl.LayersModel, data: { x: tf.Tensor4D; y: tf.Tensor2D }, steps: number): number[] {
  const opt = tf.train.momentum(0.1, 0.9);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const loss = opt.minimize(
      () => tf.losses.softmaxCrossEntropy(data.y, model.apply(data.x, { training: true }) as tf.Tensor) as tf.Scalar,
      true,
    )!;
    losses.push(loss.dataSync()[0]!);
    loss.dispose();
  }
  return losses;
}

describe('schemes', () => {
  let dir: string;
  beforeAll(async () => {
    await useCpu();
    dir = mkdtempSync(join(tmpdir(), 'lm-schemes-'));
    await loadPlugin('./fixtures/plugin-block.ts', { cwd: here });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const scheme of SCHEMES) {
    it(`${scheme}: a user's plugin block trains inside it and the loss falls`, () => {
      const model = tinyNet(scheme, 'user-bn-relu-conv');
      const data = toyTask(16, 21);
      const losses = trainSteps(model, data, 10);
      expect(losses.every(Number.isFinite)).toBe(true);
      const first = (losses[0]! + losses[1]!) / 2;
      const last = (losses.at(-1)! + losses.at(-2)!) / 2;
      expect(last, `losses ${losses.map((l) => l.toFixed(3)).join(' ')}`).toBeLessThan(0.75 * first);
    });
  }

  it('approximate backward Euler shares F between its terms; RK2 has two branches per step', () => {
    const count = (m: tfl.LayersModel) => m.countParams();
    const euler = tinyNet('forward-euler', 'preact-basic');
    const poly = tinyNet('approx-backward-euler', 'preact-basic');
    const rk2 = tinyNet('runge-kutta2', 'preact-basic');
    expect(count(poly)).toBe(count(euler));
    expect(poly.getLayer('s1_b1_f')).toBeDefined();
    expect(rk2.getLayer('s1_b1_f1')).toBeDefined();
    expect(rk2.getLayer('s1_b1_f2')).toBeDefined();
    // Steps that change shape are forward Euler through the shortcut: one branch there.
    expect(() => rk2.getLayer('s2_b1_f2')).toThrow();
    const third = tinyNet('approx-backward-euler', 'preact-basic', { schemeOptions: { order: 3 } });
    expect(count(third)).toBe(count(euler));
  });

  it('RevNet steps are exactly invertible (relative error < 1e-5)', () => {
    const model = tinyNet('revnet', 'preact-basic', { dt: 0.5 });
    const data = toyTask(8, 3);
    trainSteps(model, data, 2); // moves BN statistics and weights away from their initial values
    for (const step of ['s1_b2', 's2_b2']) {
      const input = model.getLayer(`${step}_x1`).input as tfl.SymbolicTensor;
      const output = model.getLayer(`${step}_cat`).output as tfl.SymbolicTensor;
      const probe = tfl.model({ inputs: model.inputs, outputs: [input, output] });
      const [u, y] = probe.predict(data.x) as tf.Tensor4D[];
      const back = invertRevNetStep(model, step, y!, 0.5);
      const err = tf.norm(tf.sub(back, u!)).dataSync()[0]! / tf.norm(u!).dataSync()[0]!;
      expect(err, step).toBeLessThan(1e-5);
      expect(tf.norm(tf.sub(y!, u!)).dataSync()[0]!).toBeGreaterThan(1e-3);
    }
  });

  it('a model with its k_n round-trips through save and load with identical outputs', async () => {
    const model = createModel('lm-resnet20', { inputShape: [8, 8, 3], perChannelK: true, seed: 5, numClasses: 2 });
    trainSteps(model, toyTask(4, 9), 1);
    const x = tf.randomNormal([3, 8, 8, 3], 0, 1, 'float32', 17);
    const before = model.predict(x) as tf.Tensor;
    await saveModel(model, join(dir, 'lm'));
    const loaded = await loadModel(join(dir, 'lm'));
    const after = loaded.predict(x) as tf.Tensor;
    expect(Array.from(after.dataSync())).toEqual(Array.from(before.dataSync()));
    expect(lmCoefficients(loaded)).toEqual(lmCoefficients(model));
    expect(loaded.countParams()).toBe(model.countParams());
  });

  it('a plugin block is registered in the global registry and usable by name in every zoo model', () => {
    expect(registry.has('block', 'user-bn-relu-conv')).toBe(true);
    const m = createModel('lm-resnet20', { block: 'user-bn-relu-conv', inputShape: [8, 8, 3] });
    expect((m.getLayer('s1_b2_f') as tfl.LayersModel).layers.some((l) => l.name === 's1_b2_f_conv')).toBe(true);
  });
});
