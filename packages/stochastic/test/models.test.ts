import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { registry, Registry, type ModelDefinition } from '@lm/core-blocks';
import { createModel, listModels } from '@lm/schemes';
import { builtinStrategies, DropPath, PAPER_STOCHASTIC_DEPTH, SHAKE_SHAKE_BASES, stochasticModels } from '../src';
import { countLayers, sampleInput, useCpu } from './helpers';

beforeAll(useCpu);

describe('registration', () => {
  it('registers the three strategies and the models at import', () => {
    expect(registry.list('strategy')).toEqual(expect.arrayContaining(['stochastic-depth', 'shake-shake', 'additive-noise']));
    for (const [name, def] of Object.entries(builtinStrategies)) expect(registry.get('strategy', name)).toBe(def);
    expect(listModels('shake-*')).toEqual(SHAKE_SHAKE_BASES.map((b) => `shake-${b}`).sort((a, b) => a.localeCompare(b, 'en', { numeric: true })));
    expect(listModels('sd-*')).toEqual(['sd-lm-resnet56', 'sd-lm-resnet110']);
  });

  it('derives each variant from its base through the registry, without importing @lm/schemes', () => {
    const local = new Registry();
    const calls: { base: string; options: Record<string, unknown> }[] = [];
    const fake = (base: string): ModelDefinition<any> => ({
      create: (options) => {
        calls.push({ base, options });
        return undefined as never;
      },
    });
    for (const base of new Set([...SHAKE_SHAKE_BASES, 'lm-resnet56', 'lm-resnet110'])) local.register('model', base, fake(base));
    const models = stochasticModels(local);
    models['shake-resnext29-8x64d']!.create({ numClasses: 100, shakeShake: { backward: 'keep' } }, local);
    models['shake-lm-resnext29-8x64d']!.create({}, local);
    models['sd-lm-resnet56']!.create({ seed: 3 }, local);
    models['sd-lm-resnet110']!.create({ stochasticDepth: { mode: 'sample' } }, local);
    expect(calls).toEqual([
      { base: 'resnext29-8x64d', options: { numClasses: 100, name: 'shake-resnext29-8x64d', shakeShake: { backward: 'keep' } } },
      { base: 'lm-resnext29-8x64d', options: { name: 'shake-lm-resnext29-8x64d', shakeShake: {} } },
      { base: 'lm-resnet56', options: { seed: 3, name: 'sd-lm-resnet56', stochasticDepth: { pL: PAPER_STOCHASTIC_DEPTH['sd-lm-resnet56']!.pL } } },
      { base: 'lm-resnet110', options: { name: 'sd-lm-resnet110', stochasticDepth: { pL: 0.5, mode: 'sample' } } },
    ]);
    expect(() => stochasticModels(new Registry())['shake-resnet20']!.create({}, new Registry())).toThrow(/import '@lm\/schemes'/);
  });
});

describe('createModel with strategies', () => {
  it("builds createModel('lm-resnet56', { stochasticDepth: { pL: 0.8 } }) with one DropPath per step", () => {
    const model = createModel('lm-resnet56', { stochasticDepth: { pL: 0.8 }, seed: 1 });
    const drops = model.layers.filter((l): l is DropPath => l instanceof DropPath);
    expect(drops.length).toBe(27);
    expect(drops[0]!.survival).toBeCloseTo(1 - (1 / 27) * 0.2, 12);
    expect(drops[26]!.survival).toBeCloseTo(0.8, 12);
    expect(drops.every((d) => d.mode === 'batch' && d.scaleAt === 'train')).toBe(true);
    model.dispose();
  });

  it('builds the paper presets sd-lm-resnet56 (p_L = 0.8) and sd-lm-resnet110 (p_L = 0.5)', () => {
    for (const [name, steps, pL] of [['sd-lm-resnet56', 27, 0.8], ['sd-lm-resnet110', 54, 0.5]] as const) {
      const model = createModel(name, { inputShape: [8, 8, 3] });
      const drops = model.layers.filter((l): l is DropPath => l instanceof DropPath);
      expect(model.name).toBe(name);
      expect(drops.length).toBe(steps);
      expect(drops[steps - 1]!.survival).toBeCloseTo(pL, 12);
      if (steps === 27) {
        const x = sampleInput(2);
        const evalOut = Array.from((model.predict(x) as tf.Tensor).dataSync());
        expect(Array.from((model.predict(x) as tf.Tensor).dataSync())).toEqual(evalOut);
        const trainOut = tf.tidy(() => (model.apply(x, { training: true }) as tf.Tensor).dataSync());
        expect(trainOut.every(Number.isFinite)).toBe(true);
      }
      model.dispose();
    }
  });

  it('builds and runs the small shake-shake variants (two branches per step)', () => {
    for (const [name, steps] of [['shake-resnet20', 9], ['shake-lm-resnet20', 9]] as const) {
      const model = createModel(name, { inputShape: [8, 8, 3], seed: 2 });
      expect(countLayers(model, 'LmShakeShake')).toBe(steps);
      const x = sampleInput(2);
      const a = (model.predict(x) as tf.Tensor).dataSync();
      expect(Array.from((model.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from(a));
      expect(a.every(Number.isFinite)).toBe(true);
      model.dispose();
    }
    const model = createModel('shake-resnet56', { inputShape: [8, 8, 3] });
    expect(countLayers(model, 'LmShakeShake')).toBe(27);
    model.dispose();
  });

  it('builds a shake-shake ResNeXt-29 variant', () => {
    const model = createModel('shake-lm-resnext29-8x64d', { inputShape: [8, 8, 3], seed: 1 });
    expect(countLayers(model, 'LmShakeShake')).toBe(9);
    expect(model.name).toBe('shake-lm-resnext29-8x64d');
    model.dispose();
  });

  it('rejects a second strategy and bad strategy options with clear errors', () => {
    expect(() => createModel('shake-resnet20', { stochasticDepth: { pL: 0.5 } })).toThrow(/choose one stochastic strategy/);
    expect(() => createModel('resnet20', { stochasticDepth: { pL: 1.5 } })).toThrow(/pL/);
    expect(() => createModel('resnet20', { noise: { distribution: 'cauchy' } })).toThrow(/distribution/);
  });
});
