import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { trainOverrides } from '../src/cli/train';
import { train } from '../src/train/loop';
import { tinyConfig, tmp } from './helpers';

async function imageFolder(root: string, perClass: number): Promise<void> {
  const colours: [number, number, number][] = [
    [220, 30, 30],
    [30, 30, 220],
  ];
  for (const [c, rgb] of colours.entries()) {
    const dir = join(root, `n0000000${c}`);
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const px = Buffer.alloc(40 * 40 * 3);
      for (let j = 0; j < px.length; j++) px[j] = Math.max(0, Math.min(255, rgb[j % 3]! + ((j * 7 + i * 13) % 41) - 20));
      await sharp(px, { raw: { width: 40, height: 40, channels: 3 } }).jpeg().toFile(join(dir, `img${i}.JPEG`));
    }
  }
}

describe('ImageNet-style folders', () => {
  it('trains on @lm/data-imagenet folders (2 classes, no top-5 below 5 classes)', async () => {
    const root = tmp('imagenet');
    await imageFolder(join(root, 'train'), 8);
    await imageFolder(join(root, 'val'), 2);
    const r = await train(
      tinyConfig(join(root, 'run'), { dataset: 'imagenet', data: join(root, 'train'), valData: join(root, 'val'), imageSize: 32, batchSize: 4, epochs: 1 }),
      { progress: 'silent', log: () => {} },
    );
    r.model.dispose();
    expect(r.history).toHaveLength(1);
    const rec = r.history[0]!;
    expect(rec.train.images).toBe(16);
    expect(rec.eval).toMatchObject({ split: 'validation', images: 4 });
    expect(rec.train.top5Error).toBeUndefined();
  });

  it('--image-size 299 (Inception-size crops): the model, its training and its evaluation are 299 x 299', async () => {
    const root = tmp('imagenet299');
    await imageFolder(join(root, 'train'), 2);
    await imageFolder(join(root, 'val'), 1);
    const { overrides } = trainOverrides(['--dataset', 'imagenet', '--data', join(root, 'train'), '--val-data', join(root, 'val'), '--image-size', '299']);
    expect(overrides.imageSize).toBe(299);
    const run = join(root, 'run');
    const r = await train(tinyConfig(run, { ...overrides, batchSize: 2, epochs: 1 }), { progress: 'silent', log: () => {} });
    expect(r.model.inputs[0]!.shape).toEqual([null, 299, 299, 3]);
    r.model.dispose();
    expect(r.history[0]!.train.images).toBe(4);
    expect(r.history[0]!.eval).toMatchObject({ split: 'validation', images: 2 });
    expect(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).imageSize).toBe(299);
    const saved = JSON.parse(readFileSync(join(run, 'model', 'model.json'), 'utf8')) as { modelTopology: { config: { layers: { class_name: string; config: { batch_input_shape?: unknown } }[] } } };
    expect(saved.modelTopology.config.layers.find((l) => l.class_name === 'InputLayer')!.config.batch_input_shape).toEqual([null, 299, 299, 3]);
  });
});
