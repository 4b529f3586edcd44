import './helpers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { buildResNet, trainingLoss } from './fixtures/resnet';
import { rand, relNormError, requireOnednn } from './helpers';

/** Loss and gradients of every trainable variable for one training step on `backend`. */
function step(backend: string, model: ReturnType<typeof buildResNet>, xv: Float32Array, labels: number[], batch: number, hw: number) {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor(xv, [batch, hw, hw, 3]);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
    const { value, grads } = tf.variableGrads(() => trainingLoss(model, x, y));
    const out: Record<string, Float32Array> = { loss: Float32Array.from(value.dataSync()) };
    for (const [k, g] of Object.entries(grads)) out[k] = Float32Array.from(g.dataSync());
    return out;
  });
}

/**
 * ReLU has a kink at 0: where an input lies within rounding distance of it, the two backends may legitimately take
 * different branches, and one gradient element jumps by the whole upstream gradient. The Relu kernels of both
 * backends are wrapped to record the sign pattern of their inputs; a draw whose patterns differ is redrawn.
 */
const signs: Record<string, boolean[][]> = { cpu: [], onednn: [] };
function trackReluSigns(): () => void {
  const restore: Array<() => void> = [];
  for (const backend of ['cpu', 'onednn']) {
    const orig = tf.getKernel('Relu', backend)!;
    tf.unregisterKernel('Relu', backend);
    tf.registerKernel({
      ...orig,
      kernelFunc: (args) => {
        const x = args.inputs.x as tf.TensorInfo;
        const v = (args.backend as { data: { get(id: object): { values: Float32Array } } }).data.get(x.dataId).values;
        signs[backend].push(Array.from(v, (e) => e > 0));
        return orig.kernelFunc(args);
      },
    });
    restore.push(() => {
      tf.unregisterKernel('Relu', backend);
      tf.registerKernel(orig);
    });
  }
  return () => restore.forEach((r) => r());
}
function sameSigns(): boolean {
  const [a, b] = [signs.cpu, signs.onednn];
  return a.length === b.length && a.every((s, i) => s.length === b[i].length && s.every((e, j) => e === b[i][j]));
}

describe('whole training step: onednn vs cpu', () => {
  beforeAll(requireOnednn);

  for (const kind of ['resnet20', 'lm-resnet20'] as const) {
    // The LmBatchNormTrain op and the stock tfjs batch-norm path, at 16x16 to keep the cpu side short.
    for (const [bn, hw] of [['lm', 16], ['stock', 16]] as const) {
      it(`${kind} (${bn} batch norm, ${hw}x${hw}x3 input): same loss and gradients`, () => {
        tf.setBackend('cpu');
        const model = buildResNet(kind, { bn, seed: 7, inputShape: [hw, hw, 3] });
        const batch = 2;
        const labels = [3, 8];
        let want: Record<string, Float32Array> = {};
        let got: Record<string, Float32Array> = {};
        let draws = 0;
        const restore = trackReluSigns();
        try {
          do {
            signs.cpu = [];
            signs.onednn = [];
            const xv = rand(batch * hw * hw * 3);
            want = step('cpu', model, xv, labels, batch, hw);
            got = step('onednn', model, xv, labels, batch, hw);
          } while (!sameSigns() && ++draws < 5);
        } finally {
          restore();
        }
        if (draws > 0) console.log(`${kind}/${bn}: ${draws} draw(s) rejected for a ReLU input on different sides of 0`);
        expect(sameSigns(), 'every draw put a ReLU input on different sides of 0 on the two backends').toBe(true);
        const names = Object.keys(want);
        // 20 convolutions + BN (gamma, beta) + dense; LM-ResNet adds one k per block.
        expect(names.length).toBeGreaterThanOrEqual(kind === 'resnet20' ? 60 : 69);
        expect(Object.keys(got).sort()).toEqual(names.sort());
        // The whole gradient (every variable's, concatenated) within 1e-4 relative error. A single variable is held
        // to 1e-3: the gradients of scalars such as k_n are float32 sums of thousands of terms that largely cancel,
        // so their relative error is the summation order's, amplified by the cancellation.
        const gradNames = names.filter((n) => n !== 'loss');
        const concat = (r: Record<string, Float32Array>) => Float32Array.from(gradNames.flatMap((n) => Array.from(r[n]!)));
        expect(relNormError(concat(got), concat(want)), 'whole gradient').toBeLessThan(1e-4);
        for (const n of gradNames) {
          const e = relNormError(got[n], want[n]);
          expect(e, `${n}: relative error ${e}`).toBeLessThan(1e-3);
        }
        expect(Math.abs(got.loss[0] - want.loss[0]) / Math.abs(want.loss[0])).toBeLessThan(1e-5);
        model.dispose();
      });
    }
  }
});
