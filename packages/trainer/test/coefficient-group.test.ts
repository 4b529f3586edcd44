import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { isOnednnAvailable } from '@lm/backend-onednn';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel } from '@lm/schemes';
import { SGD } from '../src/optim/sgd';
import { trainableParams } from '../src/train/model';
import { resolveConfig } from '../src/config';
import { trainOverrides } from '../src/cli/train';

describe('scheme coefficients as a parameter group', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  // every backend the trainer steps on: onednn runs the update as one native call (LmSgdStep)
  const backends = ['cpu', ...(isOnednnAvailable() ? ['onednn'] : [])];
  it.each(backends)('SGD on %s: a parameter with lrScale s and its own weight decay takes w − s·lr·(g + wd_k·w)', async (backend) => {
    await tf.setBackend(backend);
    const a = tf.variable(tf.tensor1d([1, -2]));
    const k = tf.variable(tf.tensor1d([0.5]));
    const sgd = new SGD([{ variable: a }, { variable: k, lrScale: 0.1, weightDecay: 0.5 }], { lr: 0.2, weightDecay: 0.01 });
    sgd.step([tf.tensor1d([0.3, 0.4]), tf.tensor1d([2])]);
    const av = Array.from(a.dataSync());
    expect(av[0]).toBeCloseTo(1 - 0.2 * (0.3 + 0.01 * 1), 6);
    expect(av[1]).toBeCloseTo(-2 - 0.2 * (0.4 + 0.01 * -2), 6);
    expect(k.dataSync()[0]).toBeCloseTo(0.5 - 0.1 * 0.2 * (2 + 0.5 * 0.5), 6);
    await tf.setBackend('cpu');
  });

  it('trainableParams puts the k_n (either parametrisation) and only them in the group', () => {
    for (const conventions of ['tfjs', 'authors'] as const) {
      const model = createModel('lm-resnet20', { inputShape: [8, 8, 3], seed: 1, conventions });
      const params = trainableParams(model, [], { lrScale: 0.05, weightDecay: 0 });
      const scaled = params.filter((p) => p.lrScale === 0.05);
      expect(scaled).toHaveLength(6);
      expect(scaled.every((p) => /_lm\/(k|one_minus_k)$/.test(p.name) && p.weightDecay === 0)).toBe(true);
      expect(params.filter((p) => p.lrScale === undefined)).toHaveLength(params.length - 6);
      model.dispose();
    }
  });

  it('lm train options and preset fields reach the config', () => {
    const { overrides } = trainOverrides(['--coefficient-lr-scale', '0.1', '--coefficient-weight-decay', '0']);
    const c = resolveConfig({ ...overrides, out: 'x' });
    expect([c.coefficientLrScale, c.coefficientWeightDecay]).toEqual([0.1, 0]);
    expect(resolveConfig({ out: 'x' }).coefficientLrScale).toBe(1);
    expect(() => resolveConfig({ coefficientLrScale: -1, out: 'x' })).toThrow(/--coefficient-lr-scale must be a number ≥ 0/);
  });
});
