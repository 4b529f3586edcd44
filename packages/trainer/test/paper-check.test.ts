import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { readModelArtifacts, saveModel } from '@lm/core-blocks/node';
import { createModel } from '@lm/schemes';
import { main } from '../src/cli/main';
import { torchNaming } from '../src/export/reference-names';
import { torchStateDict } from '../src/export/safetensors';
import { relError } from './helpers/rel-error';
import { PKG, tmp } from './helpers';

/**
 * Our CIFAR networks against the PyTorch reference of tools/paper-check (torch.nn modules written from the
 * paper): the saved weights, exported by `lm export --format safetensors` and loaded with strict=True, give the
 * same logits in training and evaluation mode, the same loss and the same gradient of every trainable weight
 * (k_n included; ours mapped to PyTorch names and layouts by the export's own conversion), to 1e-4 relative.
 */
const PYTHON = process.env.LM_PYTHON ?? '/usr/bin/python3';
const CHECK = resolve(PKG, '../../tools/paper-check/check.py');
const torch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (!torch) console.warn(`paper check skipped: ${PYTHON} cannot import torch (apt-get install python3-torch, or set LM_PYTHON)`);

/** CIFAR's 32x32 where the cpu backend is quick enough; smaller images elsewhere (every stride-2 padding still matters: 16 → 8 → 4). */
const BATCH = 4;
const TOL = 1e-4;
/**
 * The smallest |input| of a ReLU, relative to that ReLU's largest, that the float64 reference may have. Nearer
 * to the kink, float32 rounding may put an input on the other side: at 32x32 one input at 4e-9 moved PyTorch's
 * own float32 gradients from its float64 ones by 7% (every input seed whose margin was >= 4e-8 agreed to 4e-6).
 */
const MIN_RELU_MARGIN = 1e-7;
const INPUT_SEEDS = 6;

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
  reluMargin: number;
}

const CASES = [
  { model: 'resnet20', family: 'resnet', depth: 20, conventions: 'authors', side: 32 },
  { model: 'preact-resnet20', family: 'preact', depth: 20, conventions: 'authors', side: 16 },
  { model: 'lm-resnet20', family: 'lm', depth: 20, conventions: 'authors', side: 32 },
  { model: 'lm-resnet20', family: 'lm', depth: 20, conventions: 'tfjs', side: 16 },
  { model: 'lm-resnet56', family: 'lm', depth: 56, conventions: 'authors', side: 8 },
] as const;

describe.skipIf(!torch)('paper check: our networks against the PyTorch reference', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    await tf.ready();
  });

  for (const c of CASES) {
    it(`${c.model} (${c.conventions} conventions, ${c.side}x${c.side}): exported into the reference, logits, loss and every gradient agree to ${TOL} relative`, async () => {
      const dir = tmp('paper-check');
      try {
        const SIDE = c.side;
        const model = createModel(c.model, { seed: 11, conventions: c.conventions, inputShape: [SIDE, SIDE, 3] });
        perturb(model, 100);
        await saveModel(model, join(dir, 'model'));
        const said: string[] = [];
        const code = await main(['export', join(dir, 'model'), '--out', join(dir, 'model.safetensors')], { out: (l) => said.push(l), err: (l) => said.push(l) });
        expect(code, said.join('\n')).toBe(0);
        expect(said.join('\n')).toContain(`names of ${c.model} in tools/paper-check/reference.py`);
        const labels = [3, 1, 4, 1].slice(0, BATCH);
        writeFileSync(join(dir, 'labels.json'), JSON.stringify(labels));
        writeFileSync(join(dir, 'case.json'), JSON.stringify({ batch: BATCH, height: SIDE, width: SIDE }));
        // the first input with no ReLU input within float32 rounding of the kink (see MIN_RELU_MARGIN)
        let x: tf.Tensor4D | undefined;
        let ref: Reference | undefined;
        const margins: number[] = [];
        for (let seed = 1; seed <= INPUT_SEEDS && !(ref && ref.reluMargin >= MIN_RELU_MARGIN); seed++) {
          x?.dispose();
          x = tf.randomNormal([BATCH, SIDE, SIDE, 3], 0, 1, 'float32', seed);
          writeFileSync(join(dir, 'x.bin'), Buffer.from((x.dataSync() as Float32Array).buffer));
          const py = spawnSync(PYTHON, [CHECK, dir], { encoding: 'utf8' });
          expect(py.status, py.stderr).toBe(0);
          ref = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as Reference;
          margins.push(ref.reluMargin);
        }
        expect(ref!.reluMargin, `ReLU margins of input seeds 1..${INPUT_SEEDS}: ${margins.join(', ')}`).toBeGreaterThanOrEqual(MIN_RELU_MARGIN);

        const xs = x!;
        const logitsEval = tf.tidy(() => (model.apply(xs, { training: false }) as tf.Tensor).dataSync());
        expect(relError(logitsEval, ref!.logitsEval)).toBeLessThan(TOL);
        const ys = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
        let logitsTrain: Float32Array = new Float32Array();
        const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
        const { value, grads } = tf.variableGrads(() => {
          const logits = model.apply(xs, { training: true }) as tf.Tensor;
          logitsTrain = logits.dataSync() as Float32Array;
          return tf.losses.softmaxCrossEntropy(ys, logits) as tf.Scalar;
        }, variables);
        expect(relError(logitsTrain, ref!.logitsTrain)).toBeLessThan(TOL);
        expect(Math.abs(value.dataSync()[0]! - ref!.loss) / ref!.loss).toBeLessThan(TOL);
        // our gradients in PyTorch's names and layouts, by the conversion `lm export` applies to the weights
        const saved = readModelArtifacts(join(dir, 'model'));
        const naming = torchNaming(saved.modelTopology, saved.weightSpecs ?? []);
        const specs = model.trainableWeights.map((w) => ({ name: w.originalName, shape: w.shape as number[], dtype: 'float32' as const }));
        const flat = tf.concat(variables.map((v) => tf.reshape(grads[v.name]!, [-1])));
        const ours = new Map(torchStateDict(specs, (flat.dataSync() as Float32Array).slice().buffer, naming.moduleName).map((t) => [t.name, t.data as Float32Array]));
        flat.dispose();
        expect([...ours.keys()].sort()).toEqual(Object.keys(ref!.grads).sort());
        // the k_n form one parameter group (one vector, as the authors' ParameterList): a single k_n's gradient
        // is a sum with heavy cancellation, where float32 summation order alone moves it by ~1e-4 of itself
        const isK = (n: string) => /\.(k|one_minus_k)$/.test(n);
        const kNames = [...ours.keys()].filter(isK);
        const worst = [
          ...[...ours.keys()].filter((n) => !isK(n)).map((n) => ({ name: n, err: relError(ours.get(n)!, ref!.grads[n]!) })),
          ...(kNames.length ? [{ name: 'k_n (all steps)', err: relError(kNames.flatMap((n) => Array.from(ours.get(n)!)), kNames.flatMap((n) => ref!.grads[n]!)) }] : []),
        ].sort((a, b) => b.err - a.err);
        expect(worst[0]!.err, `worst gradient: ${worst[0]!.name}`).toBeLessThan(TOL);
        if (c.family === 'lm') expect(kNames).toHaveLength(c.depth === 20 ? 6 : 24);
        tf.dispose([xs, ys, value, ...Object.values(grads)]);
        model.dispose();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 600_000); // 32x32: ~50 s of cpu time, 16x16 ~15 s, 8x8 ~10 s; far more wall time when the machine is shared
  }
});
