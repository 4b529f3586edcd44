import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyLayer, registry, Registry, strategyOptionKeys, WeightedSum, type StrategyDefinition } from '@lm/core-blocks';
import { createModel, register as registerSchemes } from '@lm/schemes';
import { AdditiveNoise, builtinStrategies, DropPath, register } from '../src';
import { countLayers, sampleInput, useCpu } from './helpers';

beforeAll(useCpu);

describe('registration', () => {
  it('registers the three strategies at import, each under its own shorthand key, as provided by @lm/stochastic', () => {
    expect(registry.list('strategy')).toEqual(expect.arrayContaining(['stochastic-depth', 'shake-shake', 'additive-noise']));
    for (const [name, def] of Object.entries(builtinStrategies)) {
      expect(registry.get('strategy', name)).toBe(def);
      expect(registry.providerOf('strategy', name)).toBe('@lm/stochastic');
    }
    const keys = strategyOptionKeys(registry);
    expect(keys.get('stochasticDepth')).toBe('stochastic-depth');
    expect(keys.get('shakeShake')).toBe('shake-shake');
    expect(keys.get('additiveNoise')).toBe('additive-noise');
  });

  it("package.json's \"lm\" manifest lists exactly what the package registers (so an uninstalled-import hint is right)", () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    const local = new Registry();
    register(local);
    expect(pkg.lm.provides).toEqual({ strategy: local.list('strategy').sort((a, b) => Object.keys(builtinStrategies).indexOf(a) - Object.keys(builtinStrategies).indexOf(b)) });
    expect(pkg.lm.optionKeys).toEqual(Object.fromEntries(strategyOptionKeys(local)));
  });

  it('a registry of its own gets the strategies from register(registry), and without them the error says how', () => {
    const local = new Registry();
    registerSchemes(local);
    expect(() => createModel('resnet20', { stochasticDepth: { pL: 0.8 } }, local)).toThrow(
      /Option 'stochasticDepth' of model 'resnet20' switches on the strategy 'stochastic-depth' of the package '@lm\/stochastic', which is not registered: '@lm\/stochastic' is imported but did not register into this registry: call register\(registry\)/,
    );
    expect(() => createModel('resnet20', { strategy: 'shake-shake' }, local)).toThrow(/Unknown strategy 'shake-shake'.*provided by the package '@lm\/stochastic'/);
    register(local);
    const model = createModel('resnet20', { stochasticDepth: { pL: 0.8 }, inputShape: [8, 8, 3] }, local);
    expect(countLayers(model, 'LmDropPath')).toBe(9);
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

  it('combines strategies: stochastic depth on f and additive noise on the step, in every step, each with its options', () => {
    const model = createModel('lm-resnet20', { stochasticDepth: { pL: 0.8 }, additiveNoise: { level: 0.05 }, inputShape: [8, 8, 3], seed: 2 });
    const drops = model.layers.filter((l): l is DropPath => l instanceof DropPath);
    const noises = model.layers.filter((l): l is AdditiveNoise => l instanceof AdditiveNoise);
    expect(drops.length).toBe(9);
    expect(noises.length).toBe(9);
    expect(drops[8]!.survival).toBeCloseTo(0.8, 12);
    expect(noises.every((n) => n.getConfig().level === 0.05)).toBe(true);
    const x = sampleInput(2);
    const a = tf.tidy(() => Array.from((model.apply(x, { training: true }) as tf.Tensor).dataSync()));
    expect(a.every(Number.isFinite)).toBe(true);
    model.dispose();
  });

  it('applies the strategies of one hook in the order given, naming the second one apart', () => {
    const scaleBy = (factor: number): StrategyDefinition<{}> => ({
      perturbStep: (u, ctx) => applyLayer(new WeightedSum({ coefficients: [factor], name: `${ctx.name}_x${factor}` }), u),
    });
    const local = new Registry();
    registerSchemes(local);
    register(local);
    local.register('strategy', 'double', scaleBy(2));
    const model = createModel('resnet20', { strategies: ['additive-noise', 'double'], inputShape: [8, 8, 3] }, local);
    const noise = model.getLayer('s1_b1_step_noise');
    const doubled = model.getLayer('s1_b1_step2_x2');
    expect(doubled.input).toBe(noise.output);
    const reversed = createModel('resnet20', { strategies: ['double', 'additive-noise'], inputShape: [8, 8, 3] }, local);
    expect(reversed.getLayer('s1_b1_step2_noise').input).toBe(reversed.getLayer('s1_b1_step_x2').output);
  });

  it('stochastic depth and shake-shake together: two branches combined, then the combination dropped', () => {
    const model = createModel('resnet20', { shakeShake: {}, stochasticDepth: { pL: 0.5 }, inputShape: [8, 8, 3], seed: 3 });
    expect(countLayers(model, 'LmShakeShake')).toBe(9);
    expect(countLayers(model, 'LmDropPath')).toBe(9);
    expect(model.getLayer('s1_b1_f_drop').input).toBe(model.getLayer('s1_b1_f_shake').output);
  });

  it('rejects two strategies that both combine branches, and bad strategy options, with clear errors', () => {
    const local = new Registry();
    registerSchemes(local);
    register(local);
    local.register('strategy', 'other-combiner', { branches: 2, combineBranches: (outputs) => outputs[0]! });
    expect(() => createModel('resnet20', { strategies: ['shake-shake', 'other-combiner'] }, local)).toThrow(
      /strategies 'shake-shake' and 'other-combiner' both combine branches; choose one of them/,
    );
    expect(() => createModel('resnet20', { stochasticDepth: { pL: 1.5 } })).toThrow(/pL/);
    expect(() => createModel('resnet20', { additiveNoise: { distribution: 'cauchy' as any } })).toThrow(/distribution/);
    expect(() => createModel('resnet20', { noise: {} } as any)).toThrow(/Unknown option 'noise' for model 'resnet20'. Options: .*additiveNoise/);
  });
});
