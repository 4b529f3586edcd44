import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { conv, type BlockDefinition, type SchemeState } from '@lm/core-blocks';
import { createModel, createStepContext, LinearMultiStep, linearMultiStep, lmCoefficients, lmStepLayers, type StepSetup } from '../src/index';
import { useCpu } from './setup-backend';

/** f(u) = u · W: a 1x1 convolution, linear so the recurrence can be computed by hand. */
const linearBlock: BlockDefinition = {
  expansion: 1,
  preActivation: true,
  build: (u, s) => conv(u, { filters: s.outChannels, kernelSize: 1, name: `${s.name}_w`, seed: 3 }),
};

const matVec = (u: number[], w: number[][]) => w[0]!.map((_, o) => u.reduce((s, ui, c) => s + ui * w[c]![o]!, 0));

describe('LM two-step scheme', () => {
  beforeAll(useCpu);

  it('the layer computes (1 − k) u_n + k u_{n−1} + Δt f on given values', () => {
    const layer = new LinearMultiStep({ dt: 0.5 });
    const f = tf.tensor2d([[1, 2]]), u = tf.tensor2d([[3, -1]]), prev = tf.tensor2d([[0.5, 4]]);
    layer.apply([f, u, prev]);
    layer.setWeights([tf.tensor1d([-0.25])]);
    const y = (layer.apply([f, u, prev]) as tf.Tensor).dataSync();
    const k = -0.25;
    expect(y[0]).toBeCloseTo((1 - k) * 3 + k * 0.5 + 0.5 * 1, 6);
    expect(y[1]).toBeCloseTo((1 - k) * -1 + k * 4 + 0.5 * 2, 6);
  });

  it('k_n is initialised from U[-0.1, 0]', () => {
    const values = Array.from({ length: 40 }, (_, i) => {
      const l = new LinearMultiStep({ seed: i * 7919 });
      l.build([[null, 3], [null, 3], [null, 3]]);
      return l.coefficients()[0]!;
    });
    expect(values.every((v) => v >= -0.1 && v <= 0)).toBe(true);
    expect(new Set(values).size).toBe(40);
  });

  it('a chain of steps reproduces the hand-computed recurrence, with Euler as the start and u_{n−1} carried', () => {
    const setup: StepSetup = { blockName: 'linear', block: linearBlock, blockOptions: {}, shortcut: 'A', dt: 1, seed: 9, memory: { states: 1 } };
    const input = tfl.input({ shape: [1, 1, 3] });
    let state: SchemeState = { u: input };
    const states = [input];
    for (let n = 0; n < 4; n++) {
      const ctx = createStepContext(setup, state.u, { index: n + 1, count: 4, stage: 0, block: n }, 3, 1, `t_b${n + 1}`);
      state = linearMultiStep.step(state, ctx, { perChannelK: false });
      states.push(state.u);
    }
    const model = tfl.model({ inputs: input, outputs: states.slice(1) });
    const ks = [0, -0.3, 0.2, -0.05];
    model.layers.filter((l) => l instanceof LinearMultiStep).forEach((l, i) => l.setWeights([tf.tensor1d([ks[i + 1]!])]));
    expect(lmCoefficients(model).map((c) => c.k[0])).toEqual([ks[1], ks[2], ks[3]].map(Math.fround));

    const u0 = [0.7, -1.2, 0.4];
    const outs = (model.predict(tf.tensor4d(u0, [1, 1, 1, 3])) as tf.Tensor[]).map((t) => Array.from(t.dataSync()));
    const weights = [1, 2, 3, 4].map((n) => {
      const branch = model.getLayer(`t_b${n}_f`) as tfl.LayersModel;
      const w = branch.getWeights()[0]!.arraySync() as number[][][][];
      return w[0]![0]!;
    });
    const hand: number[][] = [u0];
    let prev = u0;
    let u = u0;
    for (let n = 0; n < 4; n++) {
      const f = matVec(u, weights[n]!);
      const k = ks[n]!;
      const next = u.map((ui, c) => (n === 0 ? ui + f[c]! : (1 - k) * ui + k * prev[c]! + f[c]!));
      prev = u;
      u = next;
      hand.push(next);
    }
    outs.forEach((o, n) => o.forEach((v, c) => expect(v).toBeCloseTo(hand[n + 1]![c]!, 5)));
  });

  it('every k_n of LM-ResNet-20 receives a non-zero gradient', () => {
    const model = createModel('lm-resnet20', { inputShape: [8, 8, 3], seed: 1 });
    const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 2);
    const y = tf.oneHot(tf.tensor1d([1, 2, 3, 4], 'int32'), 10);
    const ks = lmStepLayers(model).map((l) => l.trainableWeights[0]!);
    expect(ks.length).toBe(6);
    const { grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
      ks.map((w) => (w as any).val as tf.Variable),
    );
    for (const w of ks) {
      const g = grads[(w as any).val.name]!.dataSync()[0]!;
      expect(Math.abs(g), w.name).toBeGreaterThan(1e-7);
    }
  });
});
