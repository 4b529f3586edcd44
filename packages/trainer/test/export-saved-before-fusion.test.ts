import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import { foldBatchNormRelu } from '../src/export/fused-bn-relu';
import { torchNaming } from '../src/export/reference-names';

/** Topologies of the zoo saved by main at 8e6dcc2 (each BN-ReLU a BatchNorm layer then a ReLU layer). */
const saved = JSON.parse(gunzipSync(readFileSync(new URL('./fixtures/topologies-before-bn-relu.json.gz', import.meta.url))).toString('utf8')) as
  Record<string, { modelTopology: unknown; weightSpecs: tf.io.WeightsManifestEntry[] }>;

describe('lm export: models saved before BN+ReLU fusion keep the reference names', () => {
  it.each([
    ['resnet20 authors', 'resnet'],
    ['preact-resnet20 tfjs', 'preact'],
    ['lm-resnet20 authors', 'lm'],
  ])('%s', (key, family) => {
    const s = saved[key]!;
    expect(JSON.stringify(s.modelTopology)).toContain('"class_name":"ReLU"');
    const naming = torchNaming(s.modelTopology, s.weightSpecs);
    expect(naming.metadata.naming_reason, naming.metadata.naming_reason).toBeUndefined();
    expect(naming.kind).toBe('reference');
    expect(naming.architecture).toMatchObject({ architecture: key.split(' ')[0], family });
  });
});

describe('foldBatchNormRelu', () => {
  interface Layer { class_name: string; name: string; config: Record<string, unknown>; inbound_nodes: unknown[] }
  const layer = (class_name: string, name: string, from: string[], config: Record<string, unknown> = {}): Layer =>
    ({ class_name, name, config: { name, ...config }, inbound_nodes: from.length ? [from.map((f) => [f, 0, 0, {}])] : [] });

  it('folds a BN -> ReLU pair, renaming what read the ReLU, in nested models and their outputs too', () => {
    const inner = [layer('InputLayer', 'in', []), layer('LmBatchNorm', 'bn', ['in']), layer('ReLU', 'relu', ['bn'])];
    const outer = [layer('Model', 'sub', [], { layers: inner, output_layers: [['relu', 0, 0]] }), layer('Conv2D', 'conv', ['sub'])];
    const [sub] = foldBatchNormRelu(outer) as Layer[];
    const folded = sub!.config.layers as Layer[];
    expect(folded.map((l) => l.name)).toEqual(['in', 'bn']);
    expect(folded[1]!.config.activation).toBe('relu');
    expect(sub!.config.output_layers).toEqual([['bn', 0, 0]]);
  });

  it('leaves a BN whose output also feeds another layer, and a ReLU with a cap', () => {
    const shared = [layer('LmBatchNorm', 'bn', ['x']), layer('ReLU', 'relu', ['bn']), layer('Add', 'add', ['relu', 'bn'])];
    expect(foldBatchNormRelu(shared)).toEqual(shared);
    const capped = [layer('LmBatchNorm', 'bn', ['x']), layer('ReLU', 'relu6', ['bn'], { max_value: 6 })];
    expect(foldBatchNormRelu(capped)).toEqual(capped);
  });
});
