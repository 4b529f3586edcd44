import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { conv, withConvConventions, type ConvConventions } from '@lm/core-blocks';
import { loadModel, saveModel } from '@lm/core-blocks/node';
import { classifierInitializers, CONVENTION_PRESETS, createModel, LinearMultiStep, lmCoefficients, resolveConventions } from '../src/index';
import { useCpu } from './setup-backend';

/** A one-convolution model (3x3 or 1x1, stride 2) on a 1-channel 8x8 image, built under `c`. */
function strided(c: ConvConventions, kernelSize: number): tfl.LayersModel {
  const input = tfl.input({ shape: [8, 8, 1] });
  const y = withConvConventions(c, () => conv(input, { filters: 1, kernelSize, stride: 2, name: 'c', seed: 1 }));
  const m = tfl.model({ inputs: input, outputs: y });
  const kernel = m.getLayer('c').getWeights()[0]!;
  m.getLayer('c').setWeights([tf.onesLike(kernel)]);
  return m;
}

/** Output positions (row, col) that see a unit impulse at (r, c) through an all-ones kernel. */
function reached(m: tfl.LayersModel, r: number, c: number): string[] {
  const x = tf.buffer([1, 8, 8, 1]);
  x.set(1, 0, r, c, 0);
  const y = (m.predict(x.toTensor()) as tf.Tensor).arraySync() as number[][][][];
  const out: string[] = [];
  y[0]!.forEach((row, i) => row.forEach((v, j) => v[0] !== 0 && out.push(`${i},${j}`)));
  return out;
}

function stats(values: Float32Array | number[]): { mean: number; std: number; maxAbs: number; beyond2Std: number } {
  const n = values.length;
  let s = 0;
  for (const v of values) s += v;
  const mean = s / n;
  let q = 0;
  let maxAbs = 0;
  for (const v of values) {
    q += (v - mean) ** 2;
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  const std = Math.sqrt(q / n);
  let beyond = 0;
  for (const v of values) if (Math.abs(v) > 2 * std) beyond++;
  return { mean, std, maxAbs, beyond2Std: beyond / n };
}

describe('model conventions', () => {
  beforeAll(useCpu);

  it('symmetric padding: a 3x3/2 window is centred on input 2i (PyTorch padding=1); tf-same on 2i + 1', () => {
    const sym = strided(CONVENTION_PRESETS.authors, 3);
    const same = strided(CONVENTION_PRESETS.tfjs, 3);
    // window of output i: rows 2i-1..2i+1 (symmetric) or 2i..2i+2 (bottom/right padding)
    expect(reached(sym, 2, 2)).toEqual(['1,1']);
    expect(reached(same, 2, 2)).toEqual(['0,0', '0,1', '1,0', '1,1']);
    expect(reached(sym, 7, 7)).toEqual(['3,3']);
    expect(reached(same, 7, 7)).toEqual(['3,3']);
    expect(reached(sym, 0, 3)).toEqual(['0,1', '0,2']);
    expect(reached(same, 0, 3)).toEqual(['0,1']);
    // the 1x1/2 shortcut samples input 2i under both: the symmetric 3x3/2 window is centred on it
    expect(reached(strided(CONVENTION_PRESETS.authors, 1), 2, 4)).toEqual(['1,2']);
    expect(reached(strided(CONVENTION_PRESETS.tfjs, 1), 2, 4)).toEqual(['1,2']);
    expect(sym.getLayer('c_pad')).toBeInstanceOf(tfl.layers.Layer);
  });

  it('he-normal-fan-out: N(0, 2 / (k² C_out)), not truncated; tfjs heNormal: fan_in, truncated at 2σ', () => {
    const build = (c: ConvConventions) => {
      const input = tfl.input({ shape: [8, 8, 64] });
      const m = tfl.model({ inputs: input, outputs: withConvConventions(c, () => conv(input, { filters: 256, kernelSize: 3, name: 'c', seed: 5 })) });
      return m.getLayer('c').getWeights()[0]!.dataSync() as Float32Array;
    };
    const fanOut = stats(build(CONVENTION_PRESETS.authors));
    const expected = Math.sqrt(2 / (9 * 256));
    expect(Math.abs(fanOut.mean)).toBeLessThan(0.01 * expected);
    expect(Math.abs(fanOut.std / expected - 1)).toBeLessThan(0.01);
    // a normal has 4.55% of its mass beyond 2σ; a 2σ-truncated one none
    expect(fanOut.beyond2Std).toBeGreaterThan(0.04);
    const tfjs = stats(build(CONVENTION_PRESETS.tfjs));
    expect(tfjs.maxAbs).toBeLessThanOrEqual(2 * Math.sqrt(2 / (9 * 64)) + 1e-6);
    expect(Math.abs(tfjs.std / (0.8796 * Math.sqrt(2 / (9 * 64))) - 1)).toBeLessThan(0.01);
  });

  it('grouped convolutions follow the fan_out convention too', () => {
    const input = tfl.input({ shape: [8, 8, 128] });
    const y = withConvConventions(CONVENTION_PRESETS.authors, () => conv(input, { filters: 256, kernelSize: 3, groups: 8, stride: 2, name: 'g', seed: 2 }));
    const m = tfl.model({ inputs: input, outputs: y });
    expect(m.outputs[0]!.shape).toEqual([null, 4, 4, 256]);
    const s = stats(m.getLayer('g').getWeights()[0]!.dataSync() as Float32Array);
    expect(Math.abs(s.std / Math.sqrt(2 / (9 * 256)) - 1)).toBeLessThan(0.02);
  });

  it("pytorch-default classifier: weight and bias U(±1/√fan_in)", () => {
    const fanIn = 400;
    const input = tfl.input({ shape: [fanIn] });
    const dense = tfl.layers.dense({ units: 500, ...classifierInitializers(CONVENTION_PRESETS.authors, fanIn, 9) });
    tfl.model({ inputs: input, outputs: dense.apply(input) as tfl.SymbolicTensor });
    const [w, b] = dense.getWeights().map((t) => t.dataSync() as Float32Array);
    const bound = 1 / Math.sqrt(fanIn);
    for (const v of [w!, b!]) {
      const s = stats(v);
      expect(s.maxAbs).toBeLessThanOrEqual(bound);
      expect(Math.abs(s.std / (bound / Math.sqrt(3)) - 1)).toBeLessThan(v.length > 1000 ? 0.01 : 0.08);
      expect(Math.abs(s.mean)).toBeLessThan((v.length > 1000 ? 0.01 : 0.1) * bound);
    }
    expect(stats(b!).maxAbs).toBeGreaterThan(0.9 * bound);
  });

  it("one-minus-k stores k' = 1 − k_n: same step, same k_n, and it survives save/load", async () => {
    const f = tf.tensor2d([[1, 2]]), u = tf.tensor2d([[3, -1]]), prev = tf.tensor2d([[0.5, 4]]);
    const plain = new LinearMultiStep({ seed: 4 });
    const stored = new LinearMultiStep({ seed: 4, parametrisation: 'one-minus-k' });
    const a = (plain.apply([f, u, prev]) as tf.Tensor).dataSync();
    const b = (stored.apply([f, u, prev]) as tf.Tensor).dataSync();
    expect(stored.getWeights()[0]!.dataSync()[0]).toBeCloseTo(1 - plain.coefficients()[0]!, 6);
    expect(stored.coefficients()[0]).toBeCloseTo(plain.coefficients()[0]!, 6);
    expect(stored.getWeights()[0]!.dataSync()[0]!).toBeGreaterThanOrEqual(1);
    expect(Array.from(b)).toEqual(Array.from(a).map((v) => expect.closeTo(v, 5)));
    stored.setWeights([tf.tensor1d([0.75])]); // k_n = 0.25
    const c = (stored.apply([f, u, prev]) as tf.Tensor).dataSync();
    expect(c[0]).toBeCloseTo(0.75 * 3 + 0.25 * 0.5 + 1, 5);

    const model = createModel('lm-resnet20', { conventions: 'authors', seed: 3, inputShape: [8, 8, 3] });
    const ours = createModel('lm-resnet20', { seed: 3, inputShape: [8, 8, 3] });
    expect(lmCoefficients(model).map((e) => e.k[0])).toEqual(lmCoefficients(ours).map((e) => expect.closeTo(e.k[0]!, 6)));
    expect(model.trainableWeights.filter((w) => w.originalName.endsWith('one_minus_k'))).toHaveLength(6);
    const dir = mkdtempSync(join(tmpdir(), 'lm-conv-'));
    try {
      await saveModel(model, dir);
      const back = await loadModel(dir);
      expect(lmCoefficients(back)).toEqual(lmCoefficients(model));
      const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 1);
      const y1 = (model.predict(x) as tf.Tensor).dataSync();
      const y2 = (back.predict(x) as tf.Tensor).dataSync();
      expect(Array.from(y2)).toEqual(Array.from(y1));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('presets and single fields resolve; bad fields are named', () => {
    expect(resolveConventions(undefined)).toEqual(CONVENTION_PRESETS.tfjs);
    expect(resolveConventions({ preset: 'authors', kParametrisation: 'k' })).toEqual({ ...CONVENTION_PRESETS.authors, kParametrisation: 'k' });
    expect(() => resolveConventions({ padding: 'reflect' } as never, 'm')).toThrow(/conventions\.padding' must be one of tf-same, symmetric/);
    expect(() => resolveConventions({ pad: 1 } as never)).toThrow(/unknown field 'conventions\.pad'/);
    expect(() => createModel('resnet20', { conventions: 'torch' as never })).toThrow(/option 'conventions' must be one of tfjs, authors/);
  });
});
