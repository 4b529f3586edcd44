import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { conv, registry, type BlockDefinition } from '@lm/core-blocks';
import { buildNetwork, lmStepLayers, type NetworkConfig } from '@lm/schemes';
import { ArraySplit } from '@lm/data-cifar';
import { schemeSteps } from '../src/paper/scheme-steps';
import { withoutStep } from '../src/paper/drop-steps';
import { dropStepsMarkdown, evaluateDroppedSteps } from '../src/paper/drop-steps-report';

/** f(u) = u W: a 1x1 convolution, linear, so the network can be computed by hand. */
const linearBlock: BlockDefinition = {
  expansion: 1,
  preActivation: false,
  build: (u, s) => conv(u, { filters: s.outChannels, kernelSize: 1, stride: s.stride, name: `${s.name}_w`, seed: 3 }),
};

const BASE: NetworkConfig = {
  name: 'drop-test', stem: 'cifar', stemWidth: 2, stageWidths: [2], blocksPerStage: [4], block: 'drop-test-linear',
  scheme: 'linear-multi-step', shortcut: 'projection-preact', preActivation: false, numClasses: 3, inputShape: [4, 4, 3], dt: 1, seed: 5,
};
const KS = [0.3, -0.4, 0.6];

/**
 * The network by hand: u_0 = stem(x) (conv-BN-ReLU); the steps in order, step 1 forward Euler, then LM steps
 * u_{n+1} = (1 − k) u_n + k u_{n−1} + f(u_n) on the last two states; a removed step is left out of the
 * sequence (the first LM step after a removed start has one state and steps from u_{n−1} = u_n).
 */
function byHand(model: tfl.LayersModel, x: tf.Tensor4D, removed?: number): number[] {
  // the stem of a post-activation network: conv, BN, ReLU
  const stem = tfl.model({ inputs: model.inputs, outputs: model.getLayer('stem_relu').getOutputAt(0) as tfl.SymbolicTensor });
  const u0 = stem.predict(x) as tf.Tensor4D;
  return tf.tidy(() => {
    const f = (u: tf.Tensor4D, step: number) => {
      const branch = model.getLayer(`s1_b${step}_f`) as tfl.LayersModel;
      const w = tf.reshape(branch.getLayer(`s1_b${step}_f_w`).getWeights()[0]!, [2, 2]) as tf.Tensor2D;
      return tf.reshape(tf.matMul(tf.reshape(u, [-1, 2]), w), u.shape) as tf.Tensor4D;
    };
    const states: tf.Tensor4D[] = [u0];
    for (let step = 1; step <= 4; step++) {
      if (step === removed) continue;
      const u = states[states.length - 1]!;
      const prev = states.length > 1 ? states[states.length - 2]! : u;
      const k = step === 1 ? 0 : KS[step - 2]!;
      states.push(tf.addN([tf.mul(u, 1 - k), tf.mul(prev, k), f(u, step)]) as tf.Tensor4D);
    }
    const pooled = tf.mean(states[states.length - 1]!, [1, 2]) as tf.Tensor2D;
    const [kernel, bias] = model.getLayer('classifier').getWeights();
    return Array.from(tf.add(tf.matMul(pooled, kernel as tf.Tensor2D), bias!).dataSync());
  });
}

describe('lm eval --drop-steps', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    registry.registerMissing('block', { 'drop-test-linear': linearBlock });
  });

  it('removing step n of a linear LM network gives the hand-computed logits', () => {
    const model = buildNetwork(BASE);
    lmStepLayers(model).forEach((l, i) => l.setWeights([tf.tensor1d([KS[i]!])]));
    const x = tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 8) as tf.Tensor4D;
    const full = Array.from((model.predict(x) as tf.Tensor).dataSync());
    expect(full).toEqual(byHand(model, x).map((v) => expect.closeTo(v, 4)));
    const steps = schemeSteps(model);
    expect(steps.map((s) => s.kind)).toEqual(['euler', 'lm', 'lm', 'lm']);
    const outputs = new Set<string>();
    for (let n = 1; n <= 4; n++) {
      const y = Array.from((withoutStep(model, steps, `s1_b${n}`).predict(x) as tf.Tensor).dataSync());
      expect(y, `step ${n} removed`).toEqual(byHand(model, x, n).map((v) => expect.closeTo(v, 4)));
      outputs.add(y.map((v) => v.toFixed(4)).join());
    }
    expect(outputs.size).toBe(4);
    // the original model is untouched
    expect(Array.from((model.predict(x) as tf.Tensor).dataSync())).toEqual(full);
  });

  it('transitions are kept and marked; every other step is scored', async () => {
    const model = buildNetwork({ ...BASE, stageWidths: [2, 2], blocksPerStage: [2, 2], inputShape: [8, 8, 3] });
    const steps = schemeSteps(model);
    expect(steps.map((s) => s.kind)).toEqual(['euler', 'lm', 'transition', 'lm']);
    expect(() => withoutStep(model, steps, 's2_b1')).toThrow(/transition, not a step of the ODE/);
    const images = new Uint8Array(6 * 32 * 32 * 3).map((_, i) => (i * 37) % 256);
    const split = new ArraySplit(images, Int32Array.from([0, 1, 2, 0, 1, 2]), 3, { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
    const small = buildNetwork({ ...BASE, stageWidths: [2, 2], blocksPerStage: [2, 2] });
    const r = await evaluateDroppedSteps(small, split, { numClasses: 3, batchSize: 6 });
    expect(r.rows.map((x) => [x.kind, x.metrics === undefined])).toEqual([['euler', false], ['lm', false], ['transition', true], ['lm', false]]);
    expect(dropStepsMarkdown(r)).toContain('kept: changes the shape of u, not a step of the ODE');
  });
});
