import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveModel } from '@lm/core-blocks/node';
import { createModel } from '@lm/schemes';
import { PKG, tmp } from './helpers';

/**
 * Our CIFAR networks against the PyTorch reference of tools/paper-check (written from the paper): the same
 * saved weights give the same logits in training and evaluation mode, the same loss and the same gradient of
 * every trainable weight (k_n included), to 1e-4 relative.
 */
const PYTHON = process.env.LM_PYTHON ?? '/usr/bin/python3';
const CHECK = resolve(PKG, '../../tools/paper-check/check.py');
const torch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (!torch) console.warn(`paper check skipped: ${PYTHON} cannot import torch (apt-get install python3-torch, or set LM_PYTHON)`);

/** Small images keep the cpu backend quick; every stride-2 padding still matters at 16 (16 → 8 → 4) and 8. */
const BATCH = 4;
const TOL = 1e-4;

/** max |a − b| / max |b|: the error relative to the tensor's scale. */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-30);
}

/** Moves BN statistics, γ, β and k away from their initial values so that every term is exercised. */
function perturb(model: ReturnType<typeof createModel>, seed: number): void {
  let s = seed;
  for (const w of model.weights) {
    const leaf = w.originalName.split('/').pop()!;
    const shape = w.shape as number[];
    const draw = (lo: number, hi: number) => tf.randomUniform(shape, lo, hi, 'float32', s++);
    const value =
      leaf === 'moving_variance' ? draw(0.5, 2) : leaf === 'moving_mean' || leaf === 'beta' ? draw(-0.3, 0.3) : leaf === 'gamma' ? draw(0.6, 1.4)
      : leaf === 'k' ? draw(-0.6, 0.6) : leaf === 'one_minus_k' ? draw(0.4, 1.6) : leaf === 'bias' ? draw(-0.2, 0.2) : null;
    if (value) w.write(value);
  }
}

interface Reference {
  logitsEval: number[];
  logitsTrain: number[];
  loss: number;
  grads: Record<string, number[]>;
}

const CASES = [
  { model: 'resnet20', family: 'resnet', depth: 20, conventions: 'authors', side: 16 },
  { model: 'preact-resnet20', family: 'preact', depth: 20, conventions: 'authors', side: 16 },
  { model: 'lm-resnet20', family: 'lm', depth: 20, conventions: 'authors', side: 16 },
  { model: 'lm-resnet20', family: 'lm', depth: 20, conventions: 'tfjs', side: 16 },
  { model: 'lm-resnet56', family: 'lm', depth: 56, conventions: 'authors', side: 8 },
] as const;

describe.skipIf(!torch)('paper check: our networks against the PyTorch reference', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    await tf.ready();
  });

  for (const c of CASES) {
    it(`${c.model} (${c.conventions} conventions): logits, loss and every gradient agree to ${TOL} relative`, async () => {
      const dir = tmp('paper-check');
      try {
        const SIDE = c.side;
        const model = createModel(c.model, { seed: 11, conventions: c.conventions, inputShape: [SIDE, SIDE, 3] });
        perturb(model, 100);
        await saveModel(model, join(dir, 'model'));
        const x = tf.randomNormal([BATCH, SIDE, SIDE, 3], 0, 1, 'float32', 7);
        const labels = [3, 1, 4, 1].slice(0, BATCH);
        writeFileSync(join(dir, 'x.bin'), Buffer.from((x.dataSync() as Float32Array).buffer));
        writeFileSync(join(dir, 'labels.json'), JSON.stringify(labels));
        const padding = c.conventions === 'authors' ? 'symmetric' : 'tf-same';
        writeFileSync(join(dir, 'case.json'), JSON.stringify({ family: c.family, depth: c.depth, padding, batch: BATCH, height: SIDE, width: SIDE }));
        const py = spawnSync(PYTHON, [CHECK, dir], { encoding: 'utf8' });
        expect(py.status, py.stderr).toBe(0);
        const ref = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as Reference;

        const logitsEval = tf.tidy(() => (model.apply(x, { training: false }) as tf.Tensor).dataSync());
        expect(relError(logitsEval, ref.logitsEval)).toBeLessThan(TOL);
        const ys = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
        let logitsTrain: Float32Array = new Float32Array();
        const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
        const { value, grads } = tf.variableGrads(() => {
          const logits = model.apply(x, { training: true }) as tf.Tensor;
          logitsTrain = logits.dataSync() as Float32Array;
          return tf.losses.softmaxCrossEntropy(ys, logits) as tf.Scalar;
        }, variables);
        expect(relError(logitsTrain, ref.logitsTrain)).toBeLessThan(TOL);
        expect(Math.abs(value.dataSync()[0]! - ref.loss) / ref.loss).toBeLessThan(TOL);
        const names = model.trainableWeights.map((w) => w.originalName);
        expect(names.slice().sort()).toEqual(Object.keys(ref.grads).sort());
        // the k_n form one parameter group (one vector, as the authors' ParameterList): a single k_n's gradient
        // is a sum with heavy cancellation, where float32 summation order alone moves it by ~1e-4 of itself
        const isK = (n: string) => /_lm\/(k|one_minus_k)$/.test(n);
        const kNames = names.filter(isK);
        const ours = (n: string) => grads[variables[names.indexOf(n)]!.name]!.dataSync();
        const worst = [
          ...names.filter((n) => !isK(n)).map((n) => ({ name: n, err: relError(ours(n), ref.grads[n]!) })),
          ...(kNames.length ? [{ name: 'k_n (all steps)', err: relError(kNames.flatMap((n) => Array.from(ours(n))), kNames.flatMap((n) => ref.grads[n]!)) }] : []),
        ].sort((a, b) => b.err - a.err);
        expect(worst[0]!.err, `worst gradient: ${worst[0]!.name}`).toBeLessThan(TOL);
        if (c.family === 'lm') expect(names.filter((n) => /_lm\/(k|one_minus_k)$/.test(n))).toHaveLength(c.depth === 20 ? 6 : 24);
        tf.dispose([x, ys, value, ...Object.values(grads)]);
        model.dispose();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 600_000); // ~15 s on a quiet 2-core machine; far more when it is shared
  }
});
