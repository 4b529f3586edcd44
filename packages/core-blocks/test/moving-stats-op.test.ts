/**
 * The moving-statistics kernel contract: BatchNorm's training call hands the update of its moving mean and
 * variance to the backend's `LmMovingStatsUpdate` kernel when the active backend has one (inputs, attrs as the
 * contract says), and composes stock ops otherwise. A test backend (the cpu kernels plus a recording kernel that
 * computes the contract's formula) stands in for a native one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchNorm, MOVING_STATS_UPDATE_KERNEL, updateMovingStats } from '../src/index';
import { registerCpuWithKernel, useCpu } from './setup-backend';

const BACKEND = 'moving-stats-kernel-test';
const calls: Array<{ shapes: number[][]; attrs: Record<string, unknown> }> = [];

beforeAll(async () => {
  await registerCpuWithKernel(BACKEND, MOVING_STATS_UPDATE_KERNEL, ({ inputs, attrs = {}, backend }) => {
    const b = backend as MathBackendCPU;
    const { movingMean, movingVariance, mean, variance } = inputs as Record<string, tf.TensorInfo>;
    calls.push({ shapes: [movingMean!, movingVariance!, mean!, variance!].map((t) => [...t.shape]), attrs: { ...attrs } });
    const v = (t: tf.TensorInfo) => b.data.get(t.dataId).values as Float32Array;
    const m = attrs.momentum as number, corr = attrs.varianceCorrection as number;
    const mm = v(movingMean!).map((x, i) => m * x + (1 - m) * v(mean!)[i]!);
    const mv = v(movingVariance!).map((x, i) => m * x + (1 - m) * corr * v(variance!)[i]!);
    return [b.makeTensorInfo(movingMean!.shape, 'float32', mm), b.makeTensorInfo(movingVariance!.shape, 'float32', mv)];
  });
});

afterAll(async () => {
  await useCpu();
  tf.removeBackend(BACKEND);
});

function trainOnce(seed: number): { moving: number[][]; y: number[] } {
  const bn = new BatchNorm({ momentum: 0.8, epsilon: 1e-5, name: `bn_${seed}` });
  const x = tf.add(tf.mul(tf.randomNormal([3, 4, 5, 3], 0, 1, 'float32', seed), 2), 1);
  const y = bn.apply(x, { training: true }) as tf.Tensor;
  const w = bn.getWeights();
  return { moving: [Array.from(w[2]!.dataSync()), Array.from(w[3]!.dataSync())], y: Array.from(y.dataSync()) };
}

describe('moving statistics kernel contract', () => {
  it("BatchNorm's training call runs the kernel once with {movingMean, movingVariance, mean, variance} and {momentum, varianceCorrection}", async () => {
    await tf.setBackend(BACKEND);
    calls.length = 0;
    const viaKernel = trainOnce(5);
    expect(calls).toEqual([{ shapes: [[3], [3], [3], [3]], attrs: { momentum: 0.8, varianceCorrection: 60 / 59 } }]);
    await tf.setBackend('cpu');
    const composed = trainOnce(5);
    expect(calls).toHaveLength(1);
    expect(viaKernel.y).toEqual(composed.y);
    viaKernel.moving.flat().forEach((v, i) => expect(v).toBeCloseTo(composed.moving.flat()[i]!, 6));
  });

  it('composes the same formula where the backend has no kernel (a single value per channel keeps its variance)', async () => {
    await tf.setBackend('cpu');
    const r = updateMovingStats(tf.tensor1d([1, 2]), tf.tensor1d([4, 9]), tf.tensor1d([3, -2]), tf.tensor1d([1, 0.5]), 0.75, 5);
    const mean = Array.from(r.movingMean.dataSync()), variance = Array.from(r.movingVariance.dataSync());
    [0.75 * 1 + 0.25 * 3, 0.75 * 2 - 0.25 * 2].forEach((e, i) => expect(mean[i]).toBeCloseTo(e, 6));
    [0.75 * 4 + 0.25 * 1.25, 0.75 * 9 + 0.25 * 0.5 * 1.25].forEach((e, i) => expect(variance[i]).toBeCloseTo(e, 5));
    const one = updateMovingStats(tf.tensor1d([0]), tf.tensor1d([1]), tf.tensor1d([2]), tf.tensor1d([3]), 0.5, 1);
    expect(Array.from(one.movingVariance.dataSync())).toEqual([2]);
  });
});
