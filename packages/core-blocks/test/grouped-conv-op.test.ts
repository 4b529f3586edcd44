/**
 * The grouped-convolution kernel contract: groupedConv2d (and so GroupedConv2D) hands the whole grouped
 * convolution to the backend's `LmConv2DGrouped` kernel when the active backend has one, and composes stock
 * ops otherwise. A test backend (the cpu kernels plus a recording `LmConv2DGrouped`) stands in for a native one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUPED_CONV2D_KERNEL, GroupedConv2D, groupedConv2d, hasGroupedConv2D } from '../src/index';
import { registerCpuWithKernel, useCpu } from './setup-backend';

const BACKEND = 'grouped-kernel-test';
/** What the test kernel writes: no composition of stock ops yields it on these inputs. */
const MARK = 7;
const calls: Array<{ x: number[]; filter: number[]; attrs: Record<string, unknown> }> = [];

beforeAll(async () => {
  await registerCpuWithKernel(BACKEND, GROUPED_CONV2D_KERNEL, ({ inputs, attrs = {}, backend }) => {
    const { x, filter } = inputs as Record<string, tf.TensorInfo>;
    calls.push({ x: [...x!.shape], filter: [...filter!.shape], attrs: { ...attrs } });
    const [n, h, w] = x!.shape as number[];
    const s = attrs.strides as number, lost = attrs.pad === 'valid' ? filter!.shape[0]! - 1 : 0;
    const shape = [n!, Math.ceil((h! - lost) / s), Math.ceil((w! - lost) / s), filter!.shape[3]!];
    return (backend as MathBackendCPU).makeTensorInfo(shape, 'float32', new Float32Array(shape.reduce((p, d) => p * d, 1)).fill(MARK));
  });
});

afterAll(async () => {
  await useCpu();
  tf.removeBackend(BACKEND);
});

describe('grouped convolution kernel contract', () => {
  it('runs the backend kernel with inputs {x, filter} and attrs {strides, pad, groups} when the backend has it', async () => {
    await tf.setBackend(BACKEND);
    expect(hasGroupedConv2D()).toBe(true);
    calls.length = 0;
    const y = groupedConv2d(tf.ones([2, 6, 6, 8]) as tf.Tensor4D, tf.ones([3, 3, 2, 12]) as tf.Tensor4D, 2, 'same', 4);
    expect(calls).toEqual([{ x: [2, 6, 6, 8], filter: [3, 3, 2, 12], attrs: { strides: 2, pad: 'same', groups: 4 } }]);
    expect(y.shape).toEqual([2, 3, 3, 12]);
    expect([...new Set(y.dataSync())]).toEqual([MARK]);
  });

  it('the GroupedConv2D layer goes through it; groups = 1 stays a plain conv2d', async () => {
    await tf.setBackend(BACKEND);
    calls.length = 0;
    const layer = new GroupedConv2D({ filters: 8, kernelSize: 3, padding: 'valid', groups: 2, name: 'g2' });
    const y = layer.apply(tf.ones([1, 5, 5, 4])) as tf.Tensor;
    expect(y.shape).toEqual([1, 3, 3, 8]);
    expect([...new Set(y.dataSync())]).toEqual([MARK]);
    expect(calls.map((c) => c.attrs)).toEqual([{ strides: 1, pad: 'valid', groups: 2 }]);
    const plain = groupedConv2d(tf.ones([1, 5, 5, 4]) as tf.Tensor4D, tf.ones([1, 1, 4, 3]) as tf.Tensor4D, 1, 'valid', 1);
    expect([...new Set(plain.dataSync())]).toEqual([4]);
    expect(calls).toHaveLength(1);
  });

  it('composes split/conv2d/concat on a backend without the kernel', async () => {
    await useCpu();
    expect(hasGroupedConv2D()).toBe(false);
    calls.length = 0;
    // One output channel per group: group g's ones-filter sums its own 2 input channels (each g+1) over the 1×1 window.
    const x = tf.tile(tf.tensor4d([1, 1, 2, 2], [1, 1, 1, 4]), [1, 3, 3, 1]) as tf.Tensor4D;
    const y = groupedConv2d(x, tf.ones([1, 1, 2, 2]) as tf.Tensor4D, 1, 'valid', 2);
    expect(calls).toHaveLength(0);
    expect(y.shape).toEqual([1, 3, 3, 2]);
    expect(Array.from(y.dataSync().slice(0, 4))).toEqual([2, 4, 2, 4]);
  });
});
