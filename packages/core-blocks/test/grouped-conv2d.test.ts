import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { GroupedConv2D, groupedConv2d } from '../src/index';
import { useCpu } from './setup-backend';

/** Direct summation, one group at a time: out[n,i,j,o] = Σ_{di,dj,c in group(o)} x[n, i·s+di−p, j·s+dj−p, c] · w[di,dj,c−g·Cg,o]. */
function referenceGroupedConv(
  x: Float32Array, dims: number[], k: Float32Array, ks: number, filters: number, groups: number, stride: number,
): { out: Float32Array; shape: number[] } {
  const [n, h, w, c] = dims as [number, number, number, number];
  const oh = Math.ceil(h / stride), ow = Math.ceil(w / stride);
  const padTotalH = Math.max(0, (oh - 1) * stride + ks - h), padTotalW = Math.max(0, (ow - 1) * stride + ks - w);
  const pt = Math.floor(padTotalH / 2), pl = Math.floor(padTotalW / 2);
  const cg = c / groups, fg = filters / groups;
  const out = new Float32Array(n * oh * ow * filters);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let o = 0; o < filters; o++) {
          const g = Math.floor(o / fg);
          let sum = 0;
          for (let di = 0; di < ks; di++)
            for (let dj = 0; dj < ks; dj++) {
              const y = i * stride + di - pt, xx = j * stride + dj - pl;
              if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
              for (let ci = 0; ci < cg; ci++) {
                sum += x[((b * h + y) * w + xx) * c + g * cg + ci]! * k[((di * ks + dj) * cg + ci) * filters + o]!;
              }
            }
          out[((b * oh + i) * ow + j) * filters + o] = sum;
        }
  return { out, shape: [n, oh, ow, filters] };
}

function maxRelativeError(a: Float32Array | number[], b: Float32Array | number[]): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

describe('grouped convolution', () => {
  beforeAll(useCpu);

  for (const [groups, stride, h] of [[4, 1, 7], [4, 2, 7], [2, 2, 8], [1, 1, 5]] as const) {
    it(`matches a per-group direct summation (groups ${groups}, stride ${stride}, ${h}x${h})`, () => {
      const shape: [number, number, number, number] = [2, h, h, 8];
      const filters = 12;
      const x = tf.randomNormal(shape, 0, 1, 'float32', 1) as tf.Tensor4D;
      const k = tf.randomNormal([3, 3, 8 / groups, filters], 0, 1, 'float32', 2) as tf.Tensor4D;
      const got = groupedConv2d(x, k, stride, 'same', groups);
      const ref = referenceGroupedConv(x.dataSync() as Float32Array, shape as number[], k.dataSync() as Float32Array, 3, filters, groups, stride);
      expect(got.shape).toEqual(ref.shape);
      expect(maxRelativeError(got.dataSync() as Float32Array, ref.out)).toBeLessThan(1e-5);
    });
  }

  it('keeps groups independent: output channels of group g do not depend on inputs of another group', () => {
    const x = tf.randomNormal([1, 5, 5, 4], 0, 1, 'float32', 3) as tf.Tensor4D;
    const k = tf.randomNormal([3, 3, 2, 6], 0, 1, 'float32', 4) as tf.Tensor4D;
    const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.slice(groupedConv2d(xx as tf.Tensor4D, k, 1, 'same', 2), [0, 0, 0, 0], [-1, -1, -1, 3])))(x);
    const grads = g.arraySync() as number[][][][];
    const second = grads.flat(2).map((px) => px.slice(2));
    const first = grads.flat(2).map((px) => px.slice(0, 2));
    expect(second.flat().every((v) => v === 0)).toBe(true);
    expect(first.flat().some((v) => v !== 0)).toBe(true);
  });

  it('as a layer: builds a [k, k, C/G, F] kernel, infers its output shape and round-trips its config', () => {
    const layer = new GroupedConv2D({ filters: 16, kernelSize: 3, strides: 2, groups: 4, name: 'g' });
    const y = layer.apply(tf.randomNormal([2, 9, 9, 8])) as tf.Tensor;
    expect(y.shape).toEqual([2, 5, 5, 16]);
    expect(layer.getWeights()[0]!.shape).toEqual([3, 3, 2, 16]);
    expect(layer.computeOutputShape([null, 9, 9, 8])).toEqual([null, 5, 5, 16]);
    const copy = GroupedConv2D.fromConfig(GroupedConv2D, layer.getConfig()) as GroupedConv2D;
    expect(copy.groups).toBe(4);
    expect(() => new GroupedConv2D({ filters: 10, kernelSize: 3, groups: 4 })).toThrow(/filters \(10\) must be divisible by groups \(4\)/);
  });
});
