import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { conv, schemeCoefficients, type BlockDefinition, type SchemeState } from '@lm/core-blocks';
import {
  adamsBashforth2,
  buildNetwork,
  createModel,
  createStepContext,
  LinearKStep,
  linearKStep,
  schemeMemory,
  type LinearKStepOptions,
  type NetworkConfig,
  type StepSetup,
} from '../src/index';
import { useCpu } from './setup-backend';

/** f(u) = u · W: a 1x1 convolution, linear so the recurrence can be computed by hand. */
const linearBlock: BlockDefinition = {
  expansion: 1,
  preActivation: true,
  build: (u, s) => conv(u, { filters: s.outChannels, kernelSize: 1, name: `${s.name}_w`, seed: 3 }),
};
const matVec = (u: number[], w: number[][]) => w[0]!.map((_, o) => u.reduce((s, ui, c) => s + ui * w[c]![o]!, 0));

function tiny(scheme: string, schemeOptions: Record<string, unknown> = {}, overrides: Partial<NetworkConfig> = {}): tfl.LayersModel {
  return buildNetwork({
    name: `tiny-${scheme}`, stem: 'cifar', stemWidth: 4, stageWidths: [4, 8], blocksPerStage: [3, 3], block: 'preact-basic',
    scheme, schemeOptions, shortcut: 'projection-preact', numClasses: 3, inputShape: [8, 8, 3], dt: 0.7, seed: 12, ...overrides,
  });
}

/** A chain of `count` steps of `scheme` on a [1, 1, 3] state with the linear block, and its step models. */
function chain(options: LinearKStepOptions, count: number, scheme = linearKStep) {
  const setup: StepSetup = { blockName: 'linear', block: linearBlock, blockOptions: {}, shortcut: 'A', dt: 0.5, seed: 9, memory: schemeMemory('k', scheme, { ...scheme.defaults, ...options }) };
  const input = tfl.input({ shape: [1, 1, 3] });
  let state: SchemeState = { u: input };
  const outputs = [];
  for (let n = 0; n < count; n++) {
    const ctx = createStepContext(setup, state.u, { index: n + 1, count, stage: 0, block: n }, 3, 1, `t_b${n + 1}`);
    state = scheme.step(state, ctx, { ...scheme.defaults, ...options });
    outputs.push(state.u);
  }
  const model = tfl.model({ inputs: input, outputs });
  const weights = Array.from({ length: count }, (_, n) => ((model.getLayer(`t_b${n + 1}_f`) as tfl.LayersModel).getWeights()[0]!.arraySync() as number[][][][])[0]![0]!);
  return { model, weights };
}

describe('the general k-step linear multi-step scheme (Appendix A.3)', () => {
  beforeAll(useCpu);

  it('k = 2, b = (1, 0) gives the LM scheme: the same initial coefficients for one seed, and the same outputs for the same weights', () => {
    const lm = tiny('linear-multi-step');
    const k2 = tiny('linear-k-step', { steps: 2 });
    expect(k2.countParams()).toBe(lm.countParams());
    const lmK = schemeCoefficients(lm).map((s) => s.coefficients[0]!.values);
    const a1 = schemeCoefficients(k2).map((s) => s.coefficients.find((c) => c.name === 'a1')!.values);
    expect(a1).toEqual(lmK);
    // other weights: random ones into both, k_n into a_1
    const ws = lm.getWeights().map((w, i) => tf.randomNormal(w.shape, 0, 0.5, 'float32', i + 1));
    lm.setWeights(ws);
    k2.setWeights(ws.map((w, i) => (k2.weights[i]!.shape.length === 2 && w.shape.length === 1 ? tf.reshape(w, k2.weights[i]!.shape as number[]) : w)));
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 5);
    expect(Array.from((k2.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((lm.predict(x) as tf.Tensor).dataSync()));
    const train = (m: tfl.LayersModel) => Array.from((m.apply(x, { training: true }) as tf.Tensor).dataSync());
    expect(train(k2)).toEqual(train(lm));
  });

  it('a 3-step chain with trainable a and b follows the hand-computed recurrence, Euler for the steps without history', () => {
    const options: LinearKStepOptions = { steps: 3, trainable: ['a', 'b'], a: [0.3, -0.2], b: [0.9, 0.4, -0.25] };
    const { model, weights } = chain(options, 5);
    const kstep = model.layers.filter((l): l is LinearKStep => l instanceof LinearKStep);
    expect(kstep.map((l) => l.name)).toEqual(['t_b3_lm', 't_b4_lm', 't_b5_lm']);
    const u0 = [0.7, -1.2, 0.4];
    const outs = (model.predict(tf.tensor4d(u0, [1, 1, 1, 3])) as tf.Tensor[]).map((t) => Array.from(t.dataSync()));
    const dt = 0.5;
    const us = [u0];
    const fs: number[][] = [];
    for (let n = 0; n < 5; n++) {
      const u = us[n]!;
      const f = matVec(u, weights[n]!);
      fs.push(f);
      if (n < 2) us.push(u.map((v, c) => v + dt * f[c]!));
      else {
        const [a1, a2] = [0.3, -0.2];
        const [b0, b1, b2] = [0.9, 0.4, -0.25];
        us.push(u.map((v, c) => (1 - a1 - a2) * v + a1 * us[n - 1]![c]! + a2 * us[n - 2]![c]! + dt * (b0 * f[c]! + b1 * fs[n - 1]![c]! + b2 * fs[n - 2]![c]!)));
      }
    }
    outs.forEach((o, n) => o.forEach((v, c) => expect(v).toBeCloseTo(us[n + 1]![c]!, 5)));
  });

  it('keeps Σ_j a_j = 1 exactly while a trains (a_0 is not a weight), and frees a_0 when asked', () => {
    const model = tiny('linear-k-step', { steps: 3 });
    const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 2);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 3);
    const opt = tf.train.sgd(0.5);
    for (let i = 0; i < 2; i++) opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
    const steps = schemeCoefficients(model);
    expect(steps.length).toBe(3); // s1_b3, s2_b2, s2_b3: the first two steps have no history yet, s2_b1 changes shape
    for (const { coefficients } of steps) {
      const a = coefficients.filter((c) => c.name.startsWith('a'));
      expect(a.map((c) => [c.name, c.trainable])).toEqual([['a0', false], ['a1', true], ['a2', true]]);
      expect(Math.abs(a.reduce((s, c) => s + c.values[0]!, 0) - 1)).toBeLessThan(1e-6);
      expect(a[1]!.values[0]).not.toBe(a[2]!.values[0]);
    }
    const moved = schemeCoefficients(model, { trainableOnly: true }).flatMap((s) => s.coefficients.map((c) => c.values[0]!));
    expect(moved.some((v) => v > 0 || v < -0.1)).toBe(true); // they left their U[-0.1, 0] start
    const free = tiny('linear-k-step', { steps: 3, consistent: false });
    expect(free.countParams()).toBe(model.countParams() + 3);
    expect(schemeCoefficients(free)[0]!.coefficients.filter((c) => c.trainable).map((c) => c.name)).toEqual(['a0', 'a1', 'a2']);
  });

  it('crossing a step that changes shape carries every kept state through the one shortcut S', () => {
    const model = tiny('linear-k-step', { steps: 3 });
    const layer = model.getLayer('s2_b2_lm');
    const [un, prev1, prev2] = (layer.input as tfl.SymbolicTensor[]).slice(0, 3);
    const conv = model.getLayer('s2_b1_shortcut_conv');
    expect(un!.sourceLayer.name).toBe('s2_b1_sum');
    expect(prev1!.sourceLayer).toBe(conv); // S(u_n): the shortcut of the transition
    expect(prev2!.sourceLayer).toBe(conv); // S(u_{n−1}): the same layer (same weights), applied again
    expect(prev2!.nodeIndex).toBe(1);
    expect(model.getLayer('s2_b3_lm').input).toContain(un);
  });

  it('Adams-Bashforth 2: u_{n+1} = u_n + Δt (3/2 f(u_n) − 1/2 f(u_{n−1})) with no trainable coefficient', () => {
    const { model, weights } = chain({}, 4, adamsBashforth2);
    expect(model.trainableWeights.every((w) => !w.name.includes('_lm'))).toBe(true);
    const u0 = [0.2, 0.5, -0.9];
    const outs = (model.predict(tf.tensor4d(u0, [1, 1, 1, 3])) as tf.Tensor[]).map((t) => Array.from(t.dataSync()));
    const us = [u0];
    const fs: number[][] = [];
    for (let n = 0; n < 4; n++) {
      const f = matVec(us[n]!, weights[n]!);
      fs.push(f);
      us.push(us[n]!.map((v, c) => (n === 0 ? v + 0.5 * f[c]! : v + 0.5 * (1.5 * f[c]! - 0.5 * fs[n - 1]![c]!))));
    }
    outs.forEach((o, n) => o.forEach((v, c) => expect(v).toBeCloseTo(us[n + 1]![c]!, 5)));
    // after a transition, f(u_{n−1}) is the transition's own f (already in the new shape)
    const net = tiny('adams-bashforth2');
    expect((net.getLayer('s2_b2_lm').input as tfl.SymbolicTensor[])[2]!.sourceLayer.name).toBe('s2_b1_f');
  });

  it('zoo: lm3-resnet20/56 and ab2-resnet20/56 are the pre-activation ResNets with the 3-step and AB2 schemes', () => {
    const preact = createModel('preact-resnet20', { inputShape: [8, 8, 3] }).countParams();
    const lm3 = createModel('lm3-resnet20', { inputShape: [8, 8, 3] });
    expect(schemeCoefficients(lm3, { trainableOnly: true }).length).toBe(5); // 9 steps: 2 starts, 2 transitions
    expect(lm3.countParams()).toBe(preact + 5 * 2);
    const ab2 = createModel('ab2-resnet20', { inputShape: [8, 8, 3] });
    expect(ab2.countParams()).toBe(preact); // fixed coefficients are constants, not weights
    expect(schemeCoefficients(ab2).length).toBe(6);
    expect(schemeCoefficients(ab2)[0]!.coefficients.map((c) => [c.name, c.values[0], c.trainable])).toEqual([['a0', 1, false], ['b0', 1.5, false], ['b1', -0.5, false]]);
    expect(createModel('lm3-resnet56', { inputShape: [8, 8, 3] }).countParams()).toBe(createModel('preact-resnet56', { inputShape: [8, 8, 3] }).countParams() + 23 * 2);
    expect(() => createModel('lm3-resnet20', { schemeOptions: { steps: 0 } })).toThrow(/option 'steps' must be an integer >= 1/);
  });
});
