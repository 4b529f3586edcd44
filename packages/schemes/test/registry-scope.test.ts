import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { conv, registry, Registry, type BlockDefinition, type SchemeDefinition } from '@lm/core-blocks';
import { buildNetwork, createModel, parameterTable, registerBuiltinModels, registerBuiltinSchemes } from '../src/index';
import { shortcutEulerStep } from '../src/schemes/euler-update';
import { useCpu } from './setup-backend';

/** A block that exists only in a local registry. */
const localOnly: BlockDefinition = {
  expansion: 1,
  preActivation: true,
  build: (u, s) => conv(u, { filters: s.outChannels, kernelSize: 3, stride: s.stride, name: `${s.name}_local`, seed: s.seed }),
};

function localRegistry(): Registry {
  const r = new Registry();
  r.register('block', 'preact-basic', localOnly);
  registerBuiltinSchemes(r);
  registerBuiltinModels(r);
  return r;
}

describe('a model is built from the registry it was looked up in', () => {
  beforeAll(useCpu);

  it("createModel(name, options, registry) takes the block, scheme and model from that registry, not the global one", () => {
    const local = localRegistry();
    const model = createModel('lm-resnet20', { inputShape: [8, 8, 3] }, local);
    const branch = model.getLayer('s1_b1_f') as tfl.LayersModel;
    expect(branch.layers.map((l) => l.name)).toContain('s1_b1_f_local');
    const global = createModel('lm-resnet20', { inputShape: [8, 8, 3] });
    expect((global.getLayer('s1_b1_f') as tfl.LayersModel).layers.map((l) => l.name)).not.toContain('s1_b1_f_local');
  });

  it('a scheme missing from the local registry is an error there even though the global registry has it', () => {
    const local = new Registry();
    local.register('block', 'preact-basic', localOnly);
    registerBuiltinModels(local);
    expect(registry.has('scheme', 'linear-multi-step')).toBe(true);
    expect(() => createModel('lm-resnet20', {}, local)).toThrow(/Unknown scheme 'linear-multi-step'/);
  });

  it('parameterTable lists and builds the models of the registry it is given', () => {
    const local = localRegistry();
    for (const name of local.list('model')) if (name !== 'lm-resnet20') local.unregister('model', name);
    const rows = parameterTable(undefined, local);
    expect(rows.map((r) => r.model)).toEqual(['lm-resnet20']);
  });
});

describe('an entry nobody registered', () => {
  it("names the package that provides a strategy (from its package.json manifest) and how to import it, by key and by name", () => {
    // @lm/schemes' tests never import @lm/stochastic: its strategies are installed but not registered.
    expect(registry.has('strategy', 'stochastic-depth')).toBe(false);
    expect(() => createModel('lm-resnet20', { stochasticDepth: { pL: 0.8 } } as any)).toThrow(
      "Option 'stochasticDepth' of model 'lm-resnet20' switches on the strategy 'stochastic-depth' of the package '@lm/stochastic', " +
        "which is not registered: import '@lm/stochastic' once (it registers its entries into the global registry), or call register(registry) from it for a registry of your own.",
    );
    expect(() => createModel('lm-resnet20', { strategies: ['additive-noise'] })).toThrow(
      /Unknown strategy 'additive-noise'\. Known strategies: \(none registered\)\. The strategy 'additive-noise' is provided by the package '@lm\/stochastic': import '@lm\/stochastic' once/,
    );
    expect(() => createModel('lm-resnet20', { strategy: 'made-up' })).toThrow(/^Unknown strategy 'made-up'\. Known strategies: \(none registered\)\.$/);
  });
});

describe('what a scheme is given', () => {
  beforeAll(useCpu);

  it("a scheme receives its defaults and the user's scheme options only; the model seed and coefficient storage come through ctx", () => {
    const seen: { options: Record<string, unknown>; seed: number | undefined; storage: string }[] = [];
    const recording: SchemeDefinition<{ order?: number }> = {
      description: 'forward Euler that records what it was given',
      defaults: { order: 1 },
      step: (state, ctx, options) => {
        seen.push({ options: { ...options }, seed: ctx.seed, storage: ctx.coefficientStorage });
        return shortcutEulerStep(state, ctx);
      },
    };
    const local = localRegistry();
    local.register('scheme', 'recording', recording);
    const config = {
      name: 'rec', stem: 'cifar' as const, stemWidth: 4, stageWidths: [4], blocksPerStage: [2], block: 'preact-basic',
      scheme: 'recording', shortcut: 'projection-preact' as const, numClasses: 2, inputShape: [4, 4, 3] as [number, number, number], dt: 1, seed: 11,
    };
    buildNetwork({ ...config, conventions: 'authors' }, local);
    buildNetwork({ ...config, schemeOptions: { order: 2 } }, local);
    expect(seen.map((s) => s.options)).toEqual([{ order: 1 }, { order: 1 }, { order: 2 }, { order: 2 }]);
    expect(seen.map((s) => s.seed)).toEqual([11, 11, 11, 11]);
    expect(seen.map((s) => s.storage)).toEqual(['one-minus-k', 'one-minus-k', 'k', 'k']);
  });
});
