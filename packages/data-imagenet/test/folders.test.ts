import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labelFlatFolder, loadImageNet, parseSynsetList } from '../src/index.js';
import { makeTree } from './fixtures.js';

let root: string;
beforeAll(async () => {
  root = (await makeTree()).root;
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('synset lists', () => {
  it('parses plain, LOC_synset_mapping-style and JSON class index lists', () => {
    expect(parseSynsetList('n01440764\nn01443537\n\n# comment\n').wnids).toEqual(['n01440764', 'n01443537']);
    const loc = parseSynsetList('n01440764 tench, Tinca tinca\r\nn01443537 goldfish, Carassius auratus\n');
    expect(loc.wnids).toEqual(['n01440764', 'n01443537']);
    expect(loc.descriptions).toEqual(['tench, Tinca tinca', 'goldfish, Carassius auratus']);
    const json = parseSynsetList(JSON.stringify({ 1: ['n01443537', 'goldfish'], 0: ['n01440764', 'tench'] }));
    expect(json.wnids).toEqual(['n01440764', 'n01443537']);
    expect(json.descriptions).toEqual(['tench', 'goldfish']);
    expect(() => parseSynsetList('n1\nn1\n')).toThrow(/twice/);
    expect(() => parseSynsetList(JSON.stringify({ 0: ['a'], 2: ['b'] }))).toThrow(/contiguous/);
  });
});

describe('flat validation labels', () => {
  const files = ['/v/a.JPEG', '/v/b.JPEG', '/v/c.JPEG'];
  it('reads "file label" lines with wnids or indices, CSV solutions and positional lists', () => {
    expect(labelFlatFolder(files, 'a.JPEG n2\nb.JPEG n1\nc.JPEG n2\n', ['n1', 'n2'], 'x').labels).toEqual([1, 0, 1]);
    expect(labelFlatFolder(files, 'c 0\nb 1\na 0\n', ['n1', 'n2'], 'x').labels).toEqual([0, 1, 0]);
    expect(labelFlatFolder(files, 'ImageId,PredictionString\na,n00000002 1 2 3 4\nb,n00000001 5 6 7 8\nc,n00000001 1 1 1 1\n', ['n00000001', 'n00000002'], 'x').labels).toEqual([1, 0, 0]);
    expect(labelFlatFolder(files, '2\n1\n2\n', ['n1', 'n2'], 'x', { indexBase: 1 }).labels).toEqual([1, 0, 1]);
  });
  it('leaves out images of classes outside a subset and fails on missing labels', () => {
    const r = labelFlatFolder(files, 'a n00000002\nb n00000001\nc n00000002\n', ['n00000002'], 'x');
    expect(r.files).toEqual(['/v/a.JPEG', '/v/c.JPEG']);
    expect(r.labels).toEqual([0, 0]);
    expect(() => labelFlatFolder(files, 'a n1\nb n1\n', ['n1'], 'lbl.txt')).toThrow(/lbl\.txt: no label for 1 image\(s\): c\.JPEG/);
    expect(() => labelFlatFolder(files, '1\n2\n', ['n1', 'n2'], 'x')).toThrow(/2 labels for 3 images/);
  });
});

describe('loadImageNet layouts', () => {
  it('lists synset folders in sorted order, ignoring non-image files', async () => {
    const ds = await loadImageNet({ trainDir: join(root, 'train'), tuneSharp: false });
    expect(ds.numClasses).toBe(3);
    expect(ds.classNames).toEqual(['n00000001', 'n00000002', 'n00000003']);
    expect(ds.train.size).toBe(4 + 3 + 4);
    expect(ds.train.files.some((f) => f.endsWith('.txt'))).toBe(false);
    expect([...ds.train.labels]).toEqual([0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2]);
    expect(ds.train.files[0]).toMatch(/n00000001[/\\]n00000001_0\.JPEG$/);
    expect(ds.mean).toEqual([0.485, 0.456, 0.406]);
    expect(ds.std).toEqual([0.229, 0.224, 0.225]);
    expect(ds.validation).toBeUndefined();
  });
  it('takes class order and descriptions from a synset list, a subset list, a class index or `classes`', async () => {
    const a = await loadImageNet({ trainDir: join(root, 'train'), synsets: join(root, 'synsets.txt'), tuneSharp: false });
    expect(a.classNames).toEqual(['n00000001', 'n00000002', 'n00000003']);
    expect(a.classDescriptions[0]).toBe('red thing, scarlet');
    const sub = await loadImageNet({ trainDir: join(root, 'train'), synsets: join(root, 'subset.txt'), tuneSharp: false });
    expect(sub.classNames).toEqual(['n00000003', 'n00000001']);
    expect(sub.train.size).toBe(8);
    expect([...sub.train.labels]).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    const idx = await loadImageNet({ trainDir: join(root, 'train'), synsets: join(root, 'class_index.json'), tuneSharp: false });
    expect(idx.classNames).toEqual(['n00000002', 'n00000003', 'n00000001']);
    expect(idx.classDescriptions).toEqual(['grey', 'blue', 'red']);
    expect(idx.train.labels[idx.train.files.findIndex((f) => f.includes('n00000001_0'))]).toBe(2);
    const cls = await loadImageNet({ trainDir: join(root, 'train'), classes: ['n00000002'], synsets: join(root, 'synsets.txt'), tuneSharp: false });
    expect(cls.numClasses).toBe(1);
    expect(cls.train.size).toBe(3);
    expect(cls.classDescriptions).toEqual(['grey thing']);
    await expect(loadImageNet({ trainDir: join(root, 'train'), classes: ['n00000009'], tuneSharp: false })).rejects.toThrow(/no folder for 1 class\(es\): n00000009/);
  });
  it('reads a flat validation folder with a label file in each accepted form', async () => {
    const expected = [2, 0, 1, 0];
    for (const [valLabels, base] of [
      ['val_labels.txt', 0],
      ['val_solution.csv', 0],
      ['val_gt.txt', 1],
    ] as const) {
      const ds = await loadImageNet({ trainDir: join(root, 'train'), valDir: join(root, 'val'), valLabels: join(root, valLabels), valLabelBase: base, tuneSharp: false });
      expect(ds.validation!.size).toBe(4);
      expect([...ds.validation!.labels]).toEqual(expected);
    }
    const sub = await loadImageNet({ trainDir: join(root, 'train'), valDir: join(root, 'val'), valLabels: join(root, 'val_labels.txt'), synsets: join(root, 'subset.txt'), tuneSharp: false });
    expect(sub.validation!.files.map((f) => f.slice(-13))).toEqual(['00000001.JPEG', '00000002.JPEG', '00000004.JPEG']);
    expect([...sub.validation!.labels]).toEqual([0, 1, 1]);
    await expect(loadImageNet({ trainDir: join(root, 'train'), valDir: join(root, 'val'), tuneSharp: false })).rejects.toThrow(/valLabels/);
  });
  it('reads a validation folder of class folders', async () => {
    const ds = await loadImageNet({ trainDir: join(root, 'train'), valDir: join(root, 'valdirs'), tuneSharp: false });
    expect(ds.validation!.size).toBe(3);
    expect([...ds.validation!.labels]).toEqual([0, 1, 2]);
  });
});
