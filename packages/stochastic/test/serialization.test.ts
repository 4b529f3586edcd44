import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, saveModel } from '@lm/core-blocks/node';
import { buildNetwork } from '@lm/schemes';
import { getModelRandomState, resetModelRandomState, setModelRandomState, stochasticLayers } from '../src';
import { sampleInput, smallConfig, STRATEGIES, useCpu } from './helpers';

const dirs: string[] = [];
beforeAll(useCpu);
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const train = (model: tfl.LayersModel, x: tf.Tensor) => tf.tidy(() => Array.from((model.apply(x, { training: true }) as tf.Tensor).dataSync()));

describe.each(STRATEGIES)('%s', (strategy) => {
  it('survives a save/load round trip: same configs, same evaluation, same training draws', async () => {
    const model = buildNetwork(smallConfig('linear-multi-step', { name: strategy }));
    const dir = mkdtempSync(join(tmpdir(), 'lm-stochastic-'));
    dirs.push(dir);
    await saveModel(model, dir);
    const loaded = await loadModel(dir);
    const original = stochasticLayers(model);
    const reloaded = stochasticLayers(loaded);
    expect([...reloaded.keys()]).toEqual([...original.keys()]);
    for (const [name, layer] of original) {
      expect(reloaded.get(name)!.getClassName()).toBe(layer.getClassName());
      expect(reloaded.get(name)!.getConfig()).toEqual(layer.getConfig());
    }
    const x = sampleInput(2);
    expect(Array.from((loaded.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((model.predict(x) as tf.Tensor).dataSync()));
    // Both start from their seeds, so training-mode passes draw the same masks and coefficients.
    expect(getModelRandomState(loaded)).toEqual(getModelRandomState(model));
    expect(train(loaded, x)).toEqual(train(model, x));
  });

  it('reproduces masks for a fixed seed, differs for another, and resumes from a saved random state', () => {
    const x = sampleInput(2);
    const a = buildNetwork(smallConfig('forward-euler', { name: strategy }, { seed: 5 }));
    const b = buildNetwork(smallConfig('forward-euler', { name: strategy }, { seed: 5 }));
    const c = buildNetwork(smallConfig('forward-euler', { name: strategy }, { seed: 6 }));
    c.setWeights(a.getWeights());
    const runA = [train(a, x), train(a, x), train(a, x)];
    expect([train(b, x), train(b, x), train(b, x)]).toEqual(runA);
    expect([train(c, x), train(c, x), train(c, x)]).not.toEqual(runA);

    // checkpoint after one pass, continue, restore: the next passes repeat exactly
    resetModelRandomState(a);
    expect(train(a, x)).toEqual(runA[0]);
    const state = JSON.parse(JSON.stringify(getModelRandomState(a)));
    expect(Object.keys(state).length).toBeGreaterThan(0);
    expect(train(a, x)).toEqual(runA[1]);
    setModelRandomState(a, state);
    expect(train(a, x)).toEqual(runA[1]);
    expect(train(a, x)).toEqual(runA[2]);
  });
});

describe('setModelRandomState', () => {
  it('rejects a state naming a layer the model has not, before changing anything', () => {
    const model = buildNetwork(smallConfig('forward-euler', { name: 'stochastic-depth' }));
    const state = getModelRandomState(model);
    const name = Object.keys(state)[0]!;
    const changed = { [name]: [1, 2, 3, 4], nope: [1, 2, 3, 4] };
    expect(() => setModelRandomState(model, changed)).toThrow(/no stochastic layer 'nope'/);
    expect(getModelRandomState(model)).toEqual(state);
  });
});
