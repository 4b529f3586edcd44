import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry, type StrategyChoice } from '@lm/core-blocks';
import { loadModel, saveModel } from '@lm/core-blocks/node';
import { buildNetwork, type NetworkConfig } from '@lm/schemes';
import '../src';
import { sampleInput, useCpu } from './helpers';

/**
 * Every registered block in every registered scheme with every compatible set of registered strategies (at most
 * one that combines branches), the empty set included: the registry, not a list in this file, says what is tested.
 */
const blocks = registry.list('block');
const schemes = registry.list('scheme');
const strategyNames = registry.list('strategy');

function compatibleSets(names: string[]): string[][] {
  const sets: string[][] = [];
  for (let mask = 0; mask < 1 << names.length; mask++) {
    const set = names.filter((_, i) => mask & (1 << i));
    if (set.filter((n) => registry.get('strategy', n).combineBranches).length <= 1) sets.push(set);
  }
  return sets;
}
const compatible = compatibleSets(strategyNames);

/** Tiny sizes for any block: grouped blocks get 2 groups so that their widths stay small. */
function tinyConfig(block: string, scheme: string, strategies: string[]): NetworkConfig {
  const defaults = (registry.get('block', block).defaults ?? {}) as Record<string, unknown>;
  return {
    name: `c_${block}_${scheme}`,
    stem: 'cifar', stemWidth: 4, stageWidths: [2, 4], blocksPerStage: [2, 2],
    block, blockOptions: 'cardinality' in defaults ? { cardinality: 2 } : {},
    scheme, shortcut: 'projection-preact', numClasses: 2, inputShape: [4, 4, 3], dt: 1, seed: 7,
    strategies: strategies.map((name): StrategyChoice => ({ name })),
  };
}

const cases: [string, string, string[]][] = [];
for (const block of blocks) for (const scheme of schemes) for (const set of compatible) cases.push([block, scheme, set]);

describe('composition: block x scheme x strategies, from the registry', () => {
  let dir: string;
  const x = sampleInput(2, 5, [4, 4, 3]);
  const y = tf.oneHot(tf.tensor1d([0, 1], 'int32'), 2);
  beforeAll(async () => {
    await useCpu();
    dir = mkdtempSync(join(tmpdir(), 'lm-composition-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('covers every registered block, scheme and strategy', () => {
    expect(new Set(cases.map((c) => c[0]))).toEqual(new Set(blocks));
    expect(new Set(cases.map((c) => c[1]))).toEqual(new Set(schemes));
    expect(new Set(cases.flatMap((c) => c[2]))).toEqual(new Set(strategyNames));
    expect(cases.length).toBe(blocks.length * schemes.length * compatible.length);
  });

  it.each(cases)('%s in %s with [%s]: builds, trains a step, reloads with equal outputs', async (block, scheme, strategies) => {
    const model = buildNetwork(tinyConfig(block, scheme, strategies));
    const before = model.trainableWeights.map((w) => Array.from(w.read().dataSync()));
    const opt = tf.train.sgd(0.1);
    const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true)!;
    expect(Number.isFinite(loss.dataSync()[0]!)).toBe(true);
    const moved = model.trainableWeights.filter((w, i) => Array.from(w.read().dataSync()).some((v, j) => v !== before[i]![j])).length;
    expect(moved).toBeGreaterThan(0);
    const path = join(dir, `${block}-${scheme}-${strategies.join('+') || 'none'}`);
    await saveModel(model, path);
    const loaded: tfl.LayersModel = await loadModel(path);
    expect(Array.from((loaded.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((model.predict(x) as tf.Tensor).dataSync()));
    tf.dispose([loss]);
    model.dispose();
    loaded.dispose();
  });
});
