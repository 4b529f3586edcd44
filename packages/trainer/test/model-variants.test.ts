import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { Registry, type ModelDefinition } from '@lm/core-blocks';
import { createModel, listModels } from '@lm/schemes';
import { modelVariants, PAPER_STOCHASTIC_DEPTH, SHAKE_SHAKE_BASES } from '../src/train/model-variants';

/** Layers of one class at the top level of the model (where the strategies put theirs). */
const countLayers = (model: tfl.LayersModel, className: string) => model.layers.filter((l) => l.getClassName() === className).length;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('the paper variants (a zoo model with a strategy switched on)', () => {
  it('are registered with the trainer', () => {
    expect(listModels('shake-*')).toEqual(SHAKE_SHAKE_BASES.map((b) => `shake-${b}`).sort((a, b) => a.localeCompare(b, 'en', { numeric: true })));
    expect(listModels('sd-*')).toEqual(['sd-lm-resnet56', 'sd-lm-resnet110']);
  });

  it("derive each from its base in the caller's registry, laying the caller's strategy options over theirs", () => {
    const local = new Registry();
    const calls: { base: string; options: Record<string, unknown> }[] = [];
    const fake = (base: string): ModelDefinition<any> => ({
      create: (options) => {
        calls.push({ base, options });
        return undefined as never;
      },
    });
    for (const base of new Set([...SHAKE_SHAKE_BASES, 'lm-resnet56', 'lm-resnet110'])) local.register('model', base, fake(base));
    const models = modelVariants();
    models['shake-resnext29-8x64d']!.create({ numClasses: 100, shakeShake: { backward: 'keep' } }, local);
    models['sd-lm-resnet56']!.create({ seed: 3 }, local);
    expect(calls).toEqual([
      { base: 'resnext29-8x64d', options: { strategies: [{ name: 'shake-shake' }], numClasses: 100, shakeShake: { backward: 'keep' }, name: 'shake-resnext29-8x64d' } },
      { base: 'lm-resnet56', options: { strategies: [{ name: 'stochastic-depth', options: { pL: PAPER_STOCHASTIC_DEPTH['sd-lm-resnet56']!.pL } }], seed: 3, name: 'sd-lm-resnet56' } },
    ]);
    expect(() => models['shake-resnet20']!.create({}, new Registry())).toThrow(/no model 'resnet20' is registered/);
  });

  it('build the paper presets sd-lm-resnet56 (p_L = 0.8) and sd-lm-resnet110 (p_L = 0.5); user options keep p_L', () => {
    for (const [name, steps, pL] of [['sd-lm-resnet56', 27, 0.8], ['sd-lm-resnet110', 54, 0.5]] as const) {
      const model = createModel(name, { inputShape: [8, 8, 3], stochasticDepth: { mode: 'sample' } });
      const drops = model.layers.filter((l) => l.getClassName() === 'LmDropPath') as (tfl.layers.Layer & { survival: number; mode: string })[];
      expect(model.name).toBe(name);
      expect(drops.length).toBe(steps);
      expect(drops[steps - 1]!.survival).toBeCloseTo(pL, 12);
      expect(drops.every((d) => d.mode === 'sample')).toBe(true);
      model.dispose();
    }
  });

  it('build shake-shake variants with two branches per step, and take a second strategy on top', () => {
    const model = createModel('shake-lm-resnet20', { inputShape: [8, 8, 3], seed: 2, stochasticDepth: { pL: 0.5 } });
    expect(countLayers(model, 'LmShakeShake')).toBe(9);
    expect(countLayers(model, 'LmDropPath')).toBe(9);
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 1);
    const a = (model.predict(x) as tf.Tensor).dataSync();
    expect(Array.from((model.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from(a));
    expect(a.every(Number.isFinite)).toBe(true);
    model.dispose();
  });
});
