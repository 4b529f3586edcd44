import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadModel, readModelArtifacts } from '@lm/core-blocks/node';
import { createModel } from '@lm/schemes';
import '@lm/stochastic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main';
import { referenceModuleName, torchNaming } from '../src/export/reference-names';
import { train } from '../src/train/loop';
import { relError } from './helpers/rel-error';
import { PKG, tinyConfig, tmp } from './helpers';

const PYTHON = process.env.LM_PYTHON ?? '/usr/bin/python3';
const CHECK = resolve(PKG, '../../tools/paper-check/check.py');
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (!hasTorch) console.warn(`export-safetensors: the PyTorch loads skipped, ${PYTHON} has no torch (apt-get install python3-torch, or set LM_PYTHON)`);

interface Header {
  metadata: Record<string, string>;
  tensors: Record<string, { dtype: string; shape: number[]; data: Uint8Array }>;
}

/** The safetensors format read by hand: a u64 little-endian header length, the JSON header, the raw data. */
function readSafetensors(file: string): Header {
  const raw = readFileSync(file);
  const n = Number(raw.readBigUInt64LE(0));
  const { __metadata__: metadata, ...rest } = JSON.parse(raw.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const tensors: Header['tensors'] = {};
  for (const [name, t] of Object.entries(rest)) tensors[name] = { dtype: t.dtype, shape: t.shape, data: raw.subarray(8 + n + t.data_offsets[0], 8 + n + t.data_offsets[1]) };
  return { metadata: metadata as unknown as Record<string, string>, tensors };
}

async function exportTo(source: string, file: string): Promise<string[]> {
  const said: string[] = [];
  const code = await main(['export', source, '--out', file], { out: (s) => said.push(s), err: (s) => said.push(s) });
  expect(code, said.join('\n')).toBe(0);
  expect(existsSync(file)).toBe(true);
  return said;
}

describe('lm export --format safetensors', () => {
  const work = tmp('export');
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  describe('a model the reference does not define (the tiny LM network of a plugin)', () => {
    let run: string;
    beforeAll(async () => {
      const r = await train(tinyConfig(join(work, 'tiny'), { epochs: 1, syntheticSize: 64, valSize: 16 }), { progress: 'silent', log: () => {} });
      r.model.dispose();
      run = r.outDir;
    });

    it('keeps the generic names <layer>.<parameter>, PyTorch layouts, and says why in the metadata', async () => {
      const file = join(work, 'tiny.safetensors');
      const said = await exportTo(run, file);
      expect(said.join('\n')).toContain('generic layer names: not a network of tools/paper-check/reference.py');
      const { metadata, tensors } = readSafetensors(file);
      expect(metadata.naming).toBe('layers');
      expect(metadata.naming_reason).toContain('not those of a CIFAR ResNet of the zoo');
      const saved = readModelArtifacts(join(run, 'model'));
      const specs = saved.weightSpecs!;
      const names = specs.map((s) => `${s.name.slice(0, s.name.lastIndexOf('/'))}.${{ kernel: 'weight', gamma: 'weight', beta: 'bias', moving_mean: 'running_mean', moving_variance: 'running_var' }[s.name.split('/').pop()!] ?? s.name.split('/').pop()}`);
      const bns = specs.filter((s) => s.name.endsWith('/moving_mean')).map((s) => `${s.name.slice(0, -'/moving_mean'.length)}.num_batches_tracked`);
      expect(Object.keys(tensors).sort()).toEqual([...names, ...bns].sort());
      expect(names).toEqual(expect.arrayContaining(['stem_conv.weight', 'f0_bn.running_var', 'lm1.k', 'classifier.weight']));
      // the stem's HWIO kernel as OIHW: element [o, i, h, w] of the export is [h, w, i, o] of the saved model
      const stem = specs.find((s) => s.name === 'stem_conv/kernel')!;
      const offset = specs.slice(0, specs.indexOf(stem)).reduce((a, s) => a + 4 * s.shape.reduce((x, y) => x * y, 1), 0);
      const hwio = new Float32Array((saved.weightData as ArrayBuffer).slice(offset, offset + 4 * stem.shape.reduce((x, y) => x * y, 1)));
      const t = tensors['stem_conv.weight']!;
      const [kh, kw, ci, co] = stem.shape as [number, number, number, number];
      expect(t.shape).toEqual([co, ci, kh, kw]);
      const oihw = new Float32Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
      for (const [o, i, h, w] of [[0, 0, 0, 0], [co - 1, ci - 1, kh - 1, kw - 1], [1, 2, 0, 1]] as const) {
        expect(oihw[((o * ci + i) * kh + h) * kw + w]).toBe(hwio[((h * kw + w) * ci + i) * co + o]);
      }
    });

    it('an unknown --format is an error naming the option', async () => {
      const err: string[] = [];
      expect(await main(['export', run, '--format', 'onnx'], { out: () => {}, err: (s) => err.push(s) })).toBe(2);
      expect(err.join('')).toContain('--format must be one of: safetensors');
    });
  });

  describe('which models get the reference names', () => {
    const naming = (name: string, options: Record<string, unknown> = {}) => {
      const m = createModel(name, { inputShape: [8, 8, 3], ...options });
      try {
        const specs = m.weights.map((w) => ({ name: w.originalName, shape: w.shape as number[], dtype: 'float32' as const }));
        return torchNaming(m.toJSON(null, false), specs);
      } finally {
        m.dispose();
      }
    };

    it('the paper networks of every depth and both conventions, with what the reference needs to build them', () => {
      expect(naming('resnet32', { conventions: 'authors' }).architecture).toEqual({
        architecture: 'resnet32', family: 'resnet', depth: 32, numClasses: 10, padding: 'symmetric', kParametrisation: 'k', perChannelK: false,
      });
      expect(naming('preact-resnet20').architecture).toMatchObject({ family: 'preact', depth: 20, padding: 'tf-same' });
      expect(naming('lm-resnet44', { numClasses: 100, perChannelK: true }).architecture).toMatchObject({ family: 'lm', numClasses: 100, kParametrisation: 'k', perChannelK: true });
      expect(naming('lm-resnet20', { conventions: 'authors' }).metadata).toEqual({
        naming: 'reference', architecture: 'lm-resnet20', num_classes: '10', padding: 'symmetric', k_parametrisation: 'one-minus-k', per_channel_k: 'false',
      });
    });

    it('not a network with the same weights that computes something else (other scheme, dt, stochastic depth)', () => {
      // ab2- and polynet-resnet20 have exactly preact-resnet20's weights; the layers between them tell them apart
      expect(naming('ab2-resnet20').metadata.naming_reason).toContain('it differs from preact-resnet20 (s1_b2_lm: {"name":"s1_b2_lm","class_name":"LmLinearKStep"');
      expect(naming('polynet-resnet20').metadata.naming_reason).toContain('it differs from preact-resnet20 (s1_b1_f.inbound_nodes[1]');
      expect(naming('rk2-resnet20').metadata.naming_reason).toContain('it differs from preact-resnet20 (s1_b1_f1: {"name":"s1_b1_f1","class_name":"Model"');
      expect(naming('lm-resnet20', { dt: 0.5 }).metadata.naming_reason).toContain('differs from lm-resnet20 (s1_b1_sum.coefficients[1]: 0.5 here, 1 in the reference network)');
      expect(naming('lm-resnet20', { stochasticDepth: { pL: 0.5 } }).metadata.naming_reason).toContain('(s1_b1_f_drop: {"name":"s1_b1_f_drop","class_name":"LmDropPath"');
      expect(naming('lm3-resnet20').kind).toBe('layers');
    });

    it('module names as torch.nn names them in tools/paper-check/reference.py', () => {
      expect(referenceModuleName('stem_conv')).toBe('conv1');
      expect(referenceModuleName('s2_b1_shortcut_pre_bn')).toBe('layer2.0.shortcut.bn');
      expect(referenceModuleName('s3_b9_f_pre2_bn')).toBe('layer3.8.bn2');
      expect(referenceModuleName('s1_b2_lm')).toBe('layer1.1');
      expect(referenceModuleName('s1_b1_f_relu1')).toBeUndefined();
    });
  });

  describe.skipIf(!hasTorch)('an lm train checkpoint of lm-resnet20 (authors conventions) in the PyTorch reference', () => {
    it("loads with strict=True through reference.load and gives Node's logits (1e-4), evaluation and training mode", async () => {
      const r = await train(
        { ...tinyConfig(join(work, 'lm20'), { epochs: 1, syntheticSize: 2, valSize: 0, batchSize: 2 }), model: 'lm-resnet20', plugins: [], modelOptions: { conventions: 'authors' } },
        { progress: 'silent', log: () => {} },
      );
      r.model.dispose();
      const checkpoints = join(r.outDir, 'checkpoints');
      const checkpoint = join(checkpoints, readFileSync(join(checkpoints, 'latest'), 'utf8').trim());
      const dir = join(work, 'lm20-case');
      mkdirSync(dir);
      await exportTo(checkpoint, join(dir, 'model.safetensors'));
      expect(readSafetensors(join(dir, 'model.safetensors')).metadata).toMatchObject({ naming: 'reference', architecture: 'lm-resnet20', k_parametrisation: 'one-minus-k', epoch: '1' });

      const model = await loadModel(join(checkpoint, 'model'));
      const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 2);
      writeFileSync(join(dir, 'x.bin'), new Uint8Array(x.dataSync().buffer));
      writeFileSync(join(dir, 'labels.json'), '[3, 1]');
      writeFileSync(join(dir, 'case.json'), JSON.stringify({ batch: 2, height: 32, width: 32 }));
      const py = spawnSync(PYTHON, [CHECK, dir], { encoding: 'utf8' });
      expect(py.status, py.stderr).toBe(0);
      const ref = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as { logitsEval: number[]; logitsTrain: number[] };
      const evalLogits = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
      const trainLogits = tf.tidy(() => (model.apply(x, { training: true }) as tf.Tensor).dataSync());
      expect(relError(evalLogits, ref.logitsEval)).toBeLessThan(1e-4);
      expect(relError(trainLogits, ref.logitsTrain)).toBeLessThan(1e-4);
      x.dispose();
      model.dispose();
    }, 600_000);
  });
});
