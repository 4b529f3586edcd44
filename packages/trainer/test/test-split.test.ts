import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveModel } from '@lm/core-blocks/node';
import { createModel } from '@lm/schemes';
import { ArraySplit, syntheticCifar } from '@lm/data-cifar';
import { resolveConfig } from '../src/config';
import { heldOut, loadData } from '../src/data/datasets';
import { evaluateCheckpoint } from '../src/train/evaluate-checkpoint';
import { loadPlugins } from '../src/train/plugins';
import { TINY_PLUGIN, tmp } from './helpers';

/** CIFAR-10 binary records (label byte, then the R, G and B planes) from HWC images. */
function cifarRecords(images: Uint8Array, labels: Int32Array): Uint8Array {
  const out = new Uint8Array(labels.length * 3073);
  for (let i = 0; i < labels.length; i++) {
    out[i * 3073] = labels[i]!;
    for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) out[i * 3073 + 1 + c * 1024 + p] = images[i * 3072 + p * 3 + c]!;
  }
  return out;
}

describe('official test split', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it("the paper presets evaluate on the test split when the data has one ('auto'), else on a carved validation set", () => {
    for (const preset of ['cifar10-lm-resnet', 'cifar100-lm-resnet', 'cifar-stochastic-depth'] as const) expect(resolveConfig({ preset, out: 'x' }).evalSplit).toBe('auto');
    expect(resolveConfig({ out: 'x' }).evalSplit).toBe('validation');
    const withTest = syntheticCifar({ trainSize: 40, testSize: 20, validationSize: 0, seed: 1 });
    const without = syntheticCifar({ trainSize: 40, testSize: 0, validationSize: 10, seed: 1 });
    expect(heldOut(withTest, 'auto')!.name).toBe('test');
    expect(heldOut(without, 'auto')!.name).toBe('validation');
  });

  it('lm eval --split test reads an archive that holds only test_batch.bin, normalised as in training', async () => {
    const dir = tmp('test-split');
    try {
      const config = resolveConfig({ dataset: 'synthetic', syntheticSize: 64, valSize: 32, seed: 3, out: dir, model: 'tiny-lm', plugins: [TINY_PLUGIN] });
      writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
      await loadPlugins([TINY_PLUGIN]);
      const model = createModel('tiny-lm', { seed: 3 });
      await saveModel(model, join(dir, 'model'));
      model.dispose();
      const { dataset } = await loadData(config, { progress: 'silent' });
      const validation = dataset.validation as ArraySplit;
      const testOnly = join(dir, 'test-only');
      mkdirSync(testOnly);
      writeFileSync(join(testOnly, 'test_batch.bin'), cifarRecords(validation.images, validation.labels));

      const reference = await evaluateCheckpoint({ checkpoint: dir, split: 'validation', backend: 'cpu', log: () => {} });
      const r = await evaluateCheckpoint({ checkpoint: dir, split: 'test', dataset: 'cifar10', data: testOnly, backend: 'cpu', log: () => {} });
      expect(r.images).toBe(32);
      expect(r.dataset).toContain('test batch of');
      expect(r.loss).toBeCloseTo(reference.loss, 5);
      expect(r.top1Error).toBe(reference.top1Error);
      await expect(evaluateCheckpoint({ checkpoint: dir, split: 'test', dataset: 'cifar10', data: join(dir, 'model'), backend: 'cpu', log: () => {} })).rejects.toThrow(/no test split/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
