/**
 * The fused LM update (LmLinearMultiStep) and its gradient: onednn against the cpu kernel on random inputs, and
 * the cpu kernel against the composition of stock ops it replaces (the LinearMultiStep layer of @lm/schemes).
 */
import './helpers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { ACCUMULATE_INTO, LM_STEP, LM_STEP_GRAD, nativeCoverage, type GradientRecord } from '../src/index';
import { compareBackends, rand, relError, requireOnednn, runOn } from './helpers';

type T = tf.Tensor;
type Param = 'k' | 'one-minus-k';

const step = (f: T, u: T, prev: T, k: T, dt: number, parametrisation: Param) =>
  tf.engine().runKernel(LM_STEP, { f, u, prev, k }, { dt, parametrisation }) as T;

/** The layer's composition of stock ops (what the kernel replaces). */
const composed = (f: T, u: T, prev: T, k: T, dt: number, parametrisation: Param) => {
  const mixed = parametrisation === 'one-minus-k' ? tf.add(prev, tf.mul(k, tf.sub(u, prev))) : tf.add(u, tf.mul(k, tf.sub(prev, u)));
  return tf.add(mixed, dt === 1 ? f : tf.mul(f, dt));
};

/** y and the gradients of y with respect to f, u, prev and k for the upstream gradient r. */
const withGrads = (op: typeof step, dt: number, p: Param) => (f: T, u: T, prev: T, k: T, r: T) => [
  op(f, u, prev, k, dt, p),
  ...tf.grads((a: T, b: T, c: T, d: T) => op(a, b, c, d, dt, p))([f, u, prev, k], r),
];

// Odd sizes, batch 1, per-block (1) and per-channel k.
const CASES: Array<[number[], 'scalar' | 'channel']> = [
  [[1, 5, 7, 3], 'scalar'],
  [[1, 5, 7, 3], 'channel'],
  [[3, 9, 5, 16], 'scalar'],
  [[2, 4, 33], 'channel'],
];
// Above the parallel threshold (2^18 elements): the threaded loops and the per-thread dk partial sums.
const LARGE: Array<[number[], 'scalar' | 'channel']> = [
  [[18, 16, 16, 64], 'scalar'],
  [[18, 16, 16, 64], 'channel'],
];

const shapesOf = (shape: number[], kind: 'scalar' | 'channel') => [shape, shape, shape, [kind === 'scalar' ? 1 : shape[shape.length - 1]!], shape];

describe('LmLinearMultiStep', () => {
  beforeAll(requireOnednn);

  it('is registered for cpu and onednn with its gradient', () => {
    for (const b of ['cpu', 'onednn']) {
      expect(tf.getKernel(LM_STEP, b)).toBeDefined();
      expect(tf.getKernel(LM_STEP_GRAD, b)).toBeDefined();
    }
    expect(tf.getGradient(LM_STEP)).toBeDefined();
  });

  for (const p of ['k', 'one-minus-k'] as const)
    for (const dt of [1, 0.5])
      it.each(CASES)(`${p}, dt ${dt}: y and the four gradients, onednn vs cpu and cpu vs the composed ops, x %j, k %s`, (shape, kind) => {
        const shapes = shapesOf(shape, kind);
        const got = compareBackends(shapes, withGrads(step, dt, p));
        const cov = nativeCoverage();
        expect(cov[LM_STEP]?.native).toBeGreaterThan(0);
        expect(cov[LM_STEP_GRAD]?.native).toBe(1);
        expect(got[4]!.length).toBe(kind === 'scalar' ? 1 : shape[shape.length - 1]);
        // the same seeded inputs again, on cpu through the kernel and through the stock ops
        const specs = shapes.map((s) => ({ shape: s, values: rand(s.reduce((n, d) => n * d, 1)) }));
        const viaKernel = runOn('cpu', specs, withGrads(step, dt, p));
        const viaOps = runOn('cpu', specs, withGrads(composed, dt, p));
        // y, df, du, dprev round like the composed ops (bit for bit); dk sums in another order
        for (let i = 0; i < 4; i++) expect(relError(viaKernel[i]!, viaOps[i]!), `output ${i}`).toBe(0);
        expect(relError(viaKernel[4]!, viaOps[4]!), 'dk').toBeLessThan(1e-5);
      });

  it.each(LARGE)('threaded: onednn vs cpu, both parametrisations, x %j, k %s', (shape, kind) => {
    compareBackends(shapesOf(shape, kind), withGrads(step, 1, 'k'));
    compareBackends(shapesOf(shape, kind), withGrads(step, 0.5, 'one-minus-k'));
  });

  const grad = (dy: T, u: T, prev: T, k: T, acc: { duAcc?: T; dprevAcc?: T }, p: Param, dt = 1) =>
    tf.engine().runKernel(LM_STEP_GRAD, { dy, u, prev, k, ...acc }, { dt, parametrisation: p }) as T[];

  for (const p of ['k', 'one-minus-k'] as const)
    it.each([...CASES, ...LARGE])(`${p}: the gradient kernel adds held gradients into du and dprev, held + d bit for bit, onednn as cpu, x %j, k %s`, (shape, kind) => {
      const [s, , , kShape] = shapesOf(shape, kind);
      const shapes = [s!, s!, s!, kShape!, s!, s!];
      // du with duAcc, dprev with dprevAcc, each alone and both together; df and dk unchanged
      const all = (dy: T, u: T, prev: T, k: T, a: T, b: T) => [
        ...grad(dy, u, prev, k, { duAcc: a }, p, 0.5), ...grad(dy, u, prev, k, { dprevAcc: b }, p), ...grad(dy, u, prev, k, { duAcc: a, dprevAcc: b }, p),
        ...grad(dy, u, prev, k, {}, p, 0.5).map((g, i) => (i === 1 ? tf.add(a, g) : i === 2 ? tf.add(b, g) : g)),
      ];
      compareBackends(shapes, all);
      const specs = shapes.map((sh) => ({ shape: sh, values: rand(sh.reduce((n, d) => n * d, 1)) }));
      const [f1, du1, dp1, dk1, , du2, dp2, , , du3, dp3, , fRef, duRef, dpRef, dkRef] = runOn('cpu', specs, all);
      const plain = runOn('cpu', specs, (dy, u, prev, k) => grad(dy, u, prev, k, {}, p));
      for (const [got, want, what] of [[du1, duRef, 'du + duAcc'], [du3, duRef, 'du + duAcc, both'], [dp2, dpRef, 'dprev + dprevAcc'], [dp3, dpRef, 'dprev + dprevAcc, both'],
        [dp1, plain[2], 'dprev without dprevAcc'], [du2, plain[1], 'du without duAcc'], [f1, fRef, 'df'], [dk1, dkRef, 'dk']] as const) {
        expect(relError(got!, want!), what).toBe(0);
      }
    });

  it('offers tapes its accumulating form: the held gradients of u and prev summed in, f and k left alone', () => {
    tf.setBackend('onednn');
    tf.tidy(() => {
      const [f, u, prev, dy, hu, hp, hf] = [0, 1, 2, 3, 4, 5, 6].map((i) => tf.tensor(rand(2 * 3 * 5), [2, 3, 5]));
      const k = tf.tensor1d([-0.05]);
      const record = tf.getGradient(LM_STEP)!.gradFunc(dy!, [u!, prev!, k], { dt: 1, parametrisation: 'k' }) as GradientRecord<'f' | 'u' | 'prev' | 'k'>;
      const plain = Object.fromEntries(Object.entries(record).map(([n, t]) => [n, (t as () => T)().dataSync() as Float32Array]));
      const accumulating = record[ACCUMULATE_INTO]!({ u: hu, prev: hp, f: hf });
      expect(accumulating.added.sort()).toEqual(['prev', 'u']);
      const got = Object.fromEntries(Object.entries(accumulating.grads).map(([n, t]) => [n, (t as () => T)().dataSync() as Float32Array]));
      expect(relError(got.u!, tf.add(hu!, tf.tensor(plain.u!, [2, 3, 5])).dataSync() as Float32Array)).toBe(0);
      expect(relError(got.prev!, tf.add(hp!, tf.tensor(plain.prev!, [2, 3, 5])).dataSync() as Float32Array)).toBe(0);
      expect(relError(got.f!, plain.f!)).toBe(0);
      expect(relError(got.k!, plain.k!)).toBe(0);
    });
  });

  it('rejects k of another size and an unknown parametrisation', () => {
    tf.setBackend('onednn');
    const x = tf.ones([2, 3, 4]);
    expect(() => step(x, x, x, tf.ones([3]), 1, 'k')).toThrow(/one per channel \(4\)/);
    expect(() => step(x, x, x, tf.ones([1]), 1, 'other' as Param)).toThrow(/parametrisation/);
    tf.disposeVariables();
  });
});
