import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBranch, builtinBlocks, registry } from '../src/index';
import { testSeed, uniformSource, uniformValues } from '../../../tools/test-seed';
import { useCpu } from './setup-backend';

/**
 * Each built-in block against the composition its README row describes, evaluated by hand with stock ops:
 * the branch's weights are set to seeded random values (BN statistics included), and the branch in evaluation
 * mode must equal the chain of convolutions, batch normalisations (x − μ)/√(σ² + 1e-5)·γ + β and ReLUs.
 * `3s` is the 3x3 convolution that carries the stride; `g` a grouped one.
 */
const COMPOSITIONS: Record<string, { ops: string; afterStepRelu: boolean; options?: Record<string, unknown> }> = {
  basic: { ops: 'conv3s bn relu conv3 bn', afterStepRelu: true },
  'preact-basic': { ops: 'bn relu conv3s bn relu conv3', afterStepRelu: false },
  'preact-bottleneck': { ops: 'bn relu conv1 bn relu conv3s bn relu conv1', afterStepRelu: false },
  bottleneck: { ops: 'conv1 bn relu conv3s bn relu conv1 bn', afterStepRelu: true },
  'resnext-bottleneck': { ops: 'conv1 bn relu gconv3s bn relu conv1 bn', afterStepRelu: true, options: { cardinality: 4, baseWidth: 8 } },
  'preact-resnext-bottleneck': { ops: 'bn relu conv1 bn relu gconv3s bn relu conv1', afterStepRelu: false, options: { cardinality: 4, baseWidth: 8 } },
};

const seed = testSeed(import.meta.url);
const next = uniformSource(seed);

/** Sets every weight of the branch to seeded values: kernels and γ, β in ±1, μ in ±0.5, σ² in [0.5, 2]. */
function randomiseWeights(branch: tfl.LayersModel): void {
  for (const layer of branch.layers) {
    const weights = layer.weights;
    if (weights.length === 0) continue;
    layer.setWeights(
      weights.map((w) => {
        const n = w.shape.reduce((a, b) => a! * b!, 1)!;
        const variance = w.name.endsWith('moving_variance');
        const values = variance ? uniformValues(next, n, 0.5, 2) : uniformValues(next, n, w.name.endsWith('moving_mean') ? -0.5 : -1, w.name.endsWith('moving_mean') ? 0.5 : 1);
        return tf.tensor(values, w.shape as number[]);
      }),
    );
  }
}

function groupedConv(x: tf.Tensor4D, kernel: tf.Tensor4D, stride: number, groups: number): tf.Tensor4D {
  const inPer = x.shape[3] / groups;
  const outPer = kernel.shape[3] / groups;
  const parts = Array.from({ length: groups }, (_, g) =>
    tf.conv2d(tf.slice(x, [0, 0, 0, g * inPer], [-1, -1, -1, inPer]), tf.slice(kernel, [0, 0, 0, g * outPer], [-1, -1, -1, outPer]), stride, 'same'),
  );
  return tf.concat(parts, 3);
}

/** Evaluates `ops` on x, taking the weighted layers of the branch in order (convolutions and BNs). */
function handComposition(branch: tfl.LayersModel, ops: string, x: tf.Tensor4D, stride: number): tf.Tensor4D {
  const weighted = branch.layers.filter((l) => l.weights.length > 0);
  let i = 0;
  let y = x;
  for (const op of ops.split(' ')) {
    if (op === 'relu') {
      y = tf.relu(y);
      continue;
    }
    const layer = weighted[i++];
    expect(layer, `${branch.name}: a layer for '${op}'`).toBeDefined();
    const w = layer!.getWeights();
    if (op === 'bn') {
      expect(layer!.getClassName(), `${branch.name}: op ${i}`).toBe('LmBatchNorm');
      const [gamma, beta, mean, variance] = w as tf.Tensor1D[];
      y = tf.add(tf.mul(tf.div(tf.sub(y, mean!), tf.sqrt(tf.add(variance!, 1e-5))), gamma!), beta!);
    } else {
      const size = Number(op.match(/conv(\d)/)![1]);
      const s = op.endsWith('s') ? stride : 1;
      const kernel = w[0] as tf.Tensor4D;
      expect(w.length, `${layer!.name}: bias-free`).toBe(1);
      expect(kernel.shape.slice(0, 2), layer!.name).toEqual([size, size]);
      const groups = y.shape[3] / kernel.shape[2];
      expect(groups > 1, `${layer!.name}: grouped`).toBe(op.startsWith('g'));
      y = groupedConv(y, kernel, s, groups);
    }
  }
  expect(i, `${branch.name}: every weighted layer is part of the composition`).toBe(weighted.length);
  return y;
}

describe('each block is the composition its README describes', () => {
  beforeAll(useCpu);

  it('covers every built-in block', () => {
    expect(Object.keys(builtinBlocks).sort()).toEqual(Object.keys(COMPOSITIONS).sort());
  });

  for (const [name, spec] of Object.entries(COMPOSITIONS)) {
    for (const stride of [1, 2]) {
      it(`${name} (stride ${stride}): ${spec.ops}${spec.afterStepRelu ? ', ReLU after the step' : ''}`, () => {
        const block = registry.get('block', name);
        const inC = 8;
        const width = 8;
        const branch = buildBranch(name, block, [5, 5, inC], {
          inChannels: inC, width, outChannels: width * block.expansion, stride, name: `c_${name}_${stride}`, seed: 1,
          options: { ...(block.defaults ?? {}), ...(spec.options ?? {}) },
        });
        randomiseWeights(branch);
        const x = tf.tensor4d(uniformValues(next, 2 * 5 * 5 * inC), [2, 5, 5, inC]);
        const got = branch.predict(x) as tf.Tensor;
        const want = handComposition(branch, spec.ops, x, stride);
        expect(got.shape).toEqual(want.shape);
        const err = tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]!;
        const scale = tf.max(tf.abs(want)).dataSync()[0]!;
        expect(err, `max |branch − hand| (seed ${seed})`).toBeLessThan(1e-4 * Math.max(1, scale));

        const u = tfl.input({ shape: [3, 3, 2] });
        const after = block.afterStep ? tfl.model({ inputs: u, outputs: block.afterStep(u, `c_${name}_${stride}_after`) }) : undefined;
        expect(after !== undefined, 'afterStep').toBe(spec.afterStepRelu);
        if (after) {
          const v = tf.tensor4d(uniformValues(next, 18), [1, 3, 3, 2]);
          expect(Array.from((after.predict(v) as tf.Tensor).dataSync())).toEqual(Array.from(tf.relu(v).dataSync()));
        }
      });
    }
  }
});
