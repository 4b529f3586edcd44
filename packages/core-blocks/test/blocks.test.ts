import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { BranchShapeError, buildBranch, registry, type BlockDefinition } from '../src/index';
import { useCpu } from './setup-backend';

describe('residual branches', () => {
  beforeAll(useCpu);

  const cases: [number, number, number][] = [
    [16, 16, 1],
    [16, 32, 2],
  ];
  for (const name of registry.list('block')) {
    for (const [inC, width, stride] of cases) {
      it(`${name}: f(u) has the declared shape for ${inC} -> ${width}x expansion channels, stride ${stride}`, () => {
        const block = registry.get('block', name);
        const out = width * block.expansion;
        const options = { ...(block.defaults ?? {}), ...(name === 'resnext-bottleneck' ? { cardinality: 4, baseWidth: 8 } : {}) };
        const branch = buildBranch(name, block, [9, 9, inC], {
          inChannels: inC, width, outChannels: out, stride, name: `t_${name}_${stride}`, seed: 1, options,
        });
        const y = branch.predict(tf.randomNormal([2, 9, 9, inC])) as tf.Tensor;
        expect(y.shape).toEqual([2, Math.ceil(9 / stride), Math.ceil(9 / stride), out]);
        expect(Number.isFinite(tf.sum(y).dataSync()[0]!)).toBe(true);
      });
    }
  }

  it('ResNeXt bottleneck uses a grouped 3x3 convolution of cardinality C and inner width C·d·width/64', () => {
    const block = registry.get('block', 'resnext-bottleneck');
    const branch = buildBranch('resnext-bottleneck', block, [8, 8, 64], {
      inChannels: 64, width: 64, outChannels: 256, stride: 1, name: 'rx', options: { cardinality: 8, baseWidth: 4 },
    });
    const grouped = branch.layers.find((l) => l.getClassName() === 'LmGroupedConv2D')!;
    expect(grouped.getWeights()[0]!.shape).toEqual([3, 3, 4, 32]);
  });

  it('rejects a plugin block whose output shape is not the declared one, naming the block', () => {
    const wrong: BlockDefinition = { expansion: 1, preActivation: true, build: (u) => u };
    expect(() =>
      buildBranch('wrong-block', wrong, [8, 8, 4], { inChannels: 4, width: 8, outChannels: 8, stride: 2, name: 'w', options: {} }),
    ).toThrow(BranchShapeError);
    expect(() =>
      buildBranch('wrong-block', wrong, [8, 8, 4], { inChannels: 4, width: 8, outChannels: 8, stride: 2, name: 'w2', options: {} }),
    ).toThrow("Block 'wrong-block' built f(u) of shape [8, 8, 4] for input [8, 8, 4] with stride 2; expected [4, 4, 8] (outChannels = 8).");
  });
});
