import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildShortcut, ZeroPadShortcut } from '../src/index';
import { useCpu } from './setup-backend';

describe('shortcuts', () => {
  beforeAll(useCpu);

  it('option A subsamples the identity and zero-pads the new channels on both sides', () => {
    const layer = new ZeroPadShortcut({ outChannels: 8, stride: 2 });
    const x = tf.randomNormal([1, 4, 4, 4], 0, 1, 'float32', 5);
    const y = layer.apply(x) as tf.Tensor;
    expect(y.shape).toEqual([1, 2, 2, 8]);
    const xa = x.arraySync() as number[][][][];
    const ya = y.arraySync() as number[][][][];
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 2; j++) {
        expect(ya[0]![i]![j]!.slice(0, 2)).toEqual([0, 0]);
        expect(ya[0]![i]![j]!.slice(6)).toEqual([0, 0]);
        ya[0]![i]![j]!.slice(2, 6).forEach((v, c) => expect(v).toBeCloseTo(xa[0]![2 * i]![2 * j]![c]!, 6));
      }
  });

  it('projections map to the new shape with a 1x1 convolution; the identity is returned unchanged', () => {
    const u = tfl.input({ shape: [8, 8, 4] });
    expect(buildShortcut(u, { type: 'A', outChannels: 4, stride: 1, name: 'id' })).toBe(u);
    for (const type of ['projection', 'projection-preact'] as const) {
      const s = buildShortcut(u, { type, outChannels: 16, stride: 2, name: `sc_${type}` });
      expect(s.shape).toEqual([null, 4, 4, 16]);
      const m = tfl.model({ inputs: u, outputs: s });
      const convKernel = m.trainableWeights.find((w) => w.name.includes('conv'))!;
      expect(convKernel.shape).toEqual([1, 1, 4, 16]);
    }
    expect(() => buildShortcut(u, { type: 'B' as any, outChannels: 8, stride: 2, name: 'bad' })).toThrow(
      "Unknown shortcut type 'B'. Known: A, projection-preact, projection.",
    );
  });
});
