import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
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
