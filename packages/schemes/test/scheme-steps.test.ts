import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyLayer, conv, type BlockDefinition, type SchemeDefinition, type SchemeState, type SymbolicTensor } from '@lm/core-blocks';
import { builtinSchemes, createStepContext, invertRevNetStep, lmStepLayers, schemeMemory, type StepSetup } from '../src/index';
import { testSeed, uniformSource, uniformValues } from '../../../tools/test-seed';
import { useCpu } from './setup-backend';

/**
 * Every built-in scheme stepped on a 1x1 "image" (a vector of channels) with branches whose f is known in
 * closed form, f(u) = tanh(u W), so each step's output can be computed by hand and compared.
 */
const seed = testSeed(import.meta.url);
const next = uniformSource(seed);
const TOL = 1e-5;

/** f(u) = tanh(u W): a bias-free 1x1 convolution and a tanh; W is set per branch after building. */
const tanhLinearBlock: BlockDefinition = {
  expansion: 1,
  preActivation: true,
  build: (u, s) =>
    applyLayer(
      tfl.layers.activation({ activation: 'tanh', name: `${s.name}_tanh` }),
      conv(u, { filters: s.outChannels, kernelSize: 1, stride: s.stride, name: `${s.name}_w` }),
    ),
};

type Vec = number[];
type Mat = number[][]; // [in][out]

interface StepSpec {
  width: number;
  stride?: number;
}

interface Chain {
  model: tfl.LayersModel;
  /** W of every branch, by the branch's name. */
  weights: Map<string, Mat>;
  /** f of the branch `name` in closed form. */
  f: (name: string, u: Vec) => Vec;
}

/** Steps `scheme` through `steps` on an input of `channels` channels; the model outputs u_1 ... u_N. */
function chain(scheme: SchemeDefinition<any>, options: Record<string, unknown>, channels: number, steps: StepSpec[], dt: number): Chain {
  const schemeOptions = { ...(scheme.defaults ?? {}), ...options };
  // the past the scheme keeps (u_{n-1} for LM), as the network builder declares it to each step
  const memory = schemeMemory(scheme.description ?? 'scheme', scheme, schemeOptions);
  const setup: StepSetup = { blockName: 'tanh-linear', block: tanhLinearBlock, blockOptions: {}, shortcut: 'A', dt, seed: 1, memory };
  const input = tfl.input({ shape: [1, 1, channels] });
  let state: SchemeState = { u: input };
  const outputs: SymbolicTensor[] = [];
  steps.forEach((s, n) => {
    const position = { index: n + 1, count: steps.length, stage: 0, block: n };
    const ctx = createStepContext(setup, state.u, position, s.width, s.stride ?? 1, `t${n + 1}`);
    state = scheme.step(state, ctx, schemeOptions);
    outputs.push(state.u);
  });
  const model = tfl.model({ inputs: input, outputs });
  const weights = new Map<string, Mat>();
  for (const layer of model.layers) {
    if (!(layer instanceof tfl.LayersModel)) continue;
    const kernel = layer.getLayer(`${layer.name}_w`);
    const [, , inC, outC] = kernel.getWeights()[0]!.shape as number[];
    const w: Mat = Array.from({ length: inC! }, () => uniformValues(next, outC!, -0.9, 0.9));
    kernel.setWeights([tf.tensor4d(w.flat(), [1, 1, inC!, outC!])]);
    weights.set(layer.name, w);
  }
  const f = (name: string, u: Vec): Vec => {
    const w = weights.get(name);
    if (!w) throw new Error(`no branch '${name}'; branches: ${[...weights.keys()].join(', ')}`);
    return w[0]!.map((_, o) => Math.tanh(u.reduce((sum, ui, c) => sum + ui * w[c]![o]!, 0)));
  };
  return { model, weights, f };
}

function run(model: tfl.LayersModel, u0: Vec): Vec[] {
  return tf.tidy(() => {
    const out = model.predict(tf.tensor4d(u0, [1, 1, 1, u0.length]));
    return (Array.isArray(out) ? out : [out]).map((t) => Array.from(t.dataSync()));
  });
}

const add = (a: Vec, b: Vec, s = 1): Vec => a.map((v, i) => v + s * b[i]!);
const scale = (a: Vec, s: number): Vec => a.map((v) => v * s);
/** He et al.'s option A on a 1x1 image: the new channels zero-padded, half before, half after. */
const padA = (u: Vec, out: number): Vec => {
  const before = Math.floor((out - u.length) / 2);
  return [...Array(before).fill(0), ...u, ...Array(out - u.length - before).fill(0)];
};

function expectClose(got: Vec, want: Vec, what: string): void {
  expect(got.length, what).toBe(want.length);
  const err = Math.max(...got.map((g, i) => Math.abs(g - want[i]!)));
  expect(err, `${what}: got [${got.map((v) => v.toFixed(6))}], want [${want.map((v) => v.toFixed(6))}] (seed ${seed})`).toBeLessThan(TOL);
}

describe('scheme steps computed by hand (f(u) = tanh(u W))', () => {
  beforeAll(useCpu);

  it('forward Euler with dt = 0.3: u + dt f(u), and S(u) + dt f(u) where the shape changes', () => {
    const dt = 0.3;
    const { model, f } = chain(builtinSchemes['forward-euler']!, {}, 2, [{ width: 2 }, { width: 4, stride: 2 }], dt);
    const u0 = uniformValues(next, 2);
    const [u1, u2] = run(model, u0);
    const h1 = add(u0, f('t1_f', u0), dt);
    expectClose(u1!, h1, 'u1');
    expectClose(u2!, add(padA(h1, 4), f('t2_f', h1), dt), 'u2');
  });

  for (const alpha of [1, 0.5]) {
    it(`RK2 with alpha = ${alpha}, dt = 0.7: u + dt[(1 - 1/2a) k1 + 1/2a k2], k2 = f2(u + a dt k1)`, () => {
      const dt = 0.7;
      const { model, f } = chain(builtinSchemes['runge-kutta2']!, { alpha }, 3, [{ width: 3 }, { width: 3 }], dt);
      const u0 = uniformValues(next, 3);
      const outs = run(model, u0);
      let u = u0;
      for (const n of [1, 2]) {
        const k1 = f(`t${n}_f1`, u);
        const k2 = f(`t${n}_f2`, add(u, k1, alpha * dt));
        const b2 = 1 / (2 * alpha);
        u = add(add(u, k1, dt * (1 - b2)), k2, dt * b2);
        expectClose(outs[n - 1]!, u, `u${n}`);
      }
    });
  }

  for (const order of [1, 2, 3]) {
    it(`approximate backward Euler of order ${order}, dt = 0.6: u + dt F(u) + dt F(dt F(u)) + ... with one F`, () => {
      const dt = 0.6;
      const { model, f, weights } = chain(builtinSchemes['approx-backward-euler']!, { order }, 3, [{ width: 3 }, { width: 4, stride: 2 }], dt);
      expect([...weights.keys()].sort()).toEqual(['t1_f', 't2_f']);
      const u0 = uniformValues(next, 3);
      const [u1, u2] = run(model, u0);
      let term = u0;
      let sum = u0;
      for (let j = 1; j <= order; j++) {
        term = scale(f('t1_f', term), dt);
        sum = add(sum, term);
      }
      expectClose(u1!, sum, 'u1');
      expectClose(u2!, add(padA(sum, 4), f('t2_f', sum), dt), 'u2 (shape change: Euler through the shortcut)');
    });
  }

  it('RevNet with dt = 0.4: y1 = x1 + dt F(x2), y2 = x2 + dt G(y1), and the inverse gives the input back', () => {
    const dt = 0.4;
    const { model, f } = chain(builtinSchemes.revnet!, {}, 4, [{ width: 4 }, { width: 4 }], dt);
    const u0 = uniformValues(next, 4);
    const outs = run(model, u0);
    let u = u0;
    for (const n of [1, 2]) {
      const [x1, x2] = [u.slice(0, 2), u.slice(2)];
      const y1 = add(x1, f(`t${n}_F`, x2), dt);
      const y2 = add(x2, f(`t${n}_G`, y1), dt);
      u = [...y1, ...y2];
      expectClose(outs[n - 1]!, u, `u${n}`);
    }
    const back = tf.tidy(() => Array.from(invertRevNetStep(model, 't2', tf.tensor4d(outs[1]!, [1, 1, 1, 4]), dt).dataSync()));
    expectClose(back, outs[0]!, 'inverse of step 2');
  });

  it('LM, dt = 0.5: Euler start, (1 - k) u_n + k u_{n-1} + dt f(u_n), and S(u_n) as u_{n-1} after a shape change', () => {
    const dt = 0.5;
    const steps = [{ width: 2 }, { width: 2 }, { width: 4, stride: 2 }, { width: 4 }, { width: 4 }];
    const { model, f } = chain(builtinSchemes['linear-multi-step']!, {}, 2, steps, dt);
    const lm = lmStepLayers(model);
    expect(lm.length).toBe(3); // steps 2, 4 and 5: step 1 has no u_{n-1}, step 3 changes shape
    const ks = lm.map(() => -0.5 * next());
    lm.forEach((layer, i) => layer.setWeights([tf.tensor1d([ks[i]!])]));
    const k = ks.map(Math.fround);
    const u0 = uniformValues(next, 2);
    const outs = run(model, u0);
    const lmStep = (u: Vec, prev: Vec, kn: number, name: string) => add(add(scale(u, 1 - kn), prev, kn), f(name, u), dt);
    const u1 = add(u0, f('t1_f', u0), dt);
    const u2 = lmStep(u1, u0, k[0]!, 't2_f');
    const s2 = padA(u2, 4);
    const u3 = add(s2, f('t3_f', u2), dt);
    const u4 = lmStep(u3, s2, k[1]!, 't4_f');
    const u5 = lmStep(u4, u3, k[2]!, 't5_f');
    [u1, u2, u3, u4, u5].forEach((want, n) => expectClose(outs[n]!, want, `u${n + 1}`));
  });
});

/** Central differences of `lossValue` in each scalar variable of `ks`, next to the autodiff gradient. */
function gradientRows(loss: () => tf.Scalar, ks: tf.Variable[], h: number): { g: number; fd: number; name: string }[] {
  const lossValue = () => tf.tidy(() => loss().dataSync()[0]!);
  const { grads } = tf.variableGrads(loss, ks);
  return ks.map((k) => {
    const k0 = k.dataSync()[0]!;
    k.assign(tf.tensor1d([k0 + h]));
    const plus = lossValue();
    k.assign(tf.tensor1d([k0 - h]));
    const minus = lossValue();
    k.assign(tf.tensor1d([k0]));
    return { name: k.name, g: grads[k.name]!.dataSync()[0]!, fd: (plus - minus) / (2 * h) };
  });
}

/** Fails unless |g − fd| <= rel |fd| + abs for every row, and some gradient is well above `abs`. */
function expectGradientsMatch(rows: { g: number; fd: number; name: string }[], rel: number, abs: number): void {
  const table = rows.map((r) => `${r.name}: autodiff ${r.g.toExponential(4)}, fd ${r.fd.toExponential(4)}`).join('\n');
  const worst = Math.max(...rows.map((r) => Math.abs(r.g - r.fd) / (rel * Math.abs(r.fd) + abs)));
  expect(worst, `${table}\n(seed ${seed})`).toBeLessThanOrEqual(1);
  expect(Math.max(...rows.map((r) => Math.abs(r.g))), table).toBeGreaterThan(20 * abs);
}

describe('dL/dk_n against central finite differences', () => {
  beforeAll(useCpu);

  it('smooth LM chain (tanh branches, a shape change): |g - fd| <= 1e-3 |fd| + 1e-4 (h = 1e-2)', () => {
    const steps = [{ width: 2 }, { width: 2 }, { width: 4, stride: 2 }, { width: 4 }, { width: 4 }];
    const { model } = chain(builtinSchemes['linear-multi-step']!, {}, 2, steps, 0.5);
    const ks = lmStepLayers(model).map((l) => (l.trainableWeights[0] as any).val as tf.Variable);
    ks.forEach((k) => k.assign(tf.tensor1d([-0.5 * next()])));
    const x = tf.tensor4d(uniformValues(next, 3 * 2), [3, 1, 1, 2]);
    const target = tf.tensor(uniformValues(next, 3 * 4), [3, 1, 1, 4]);
    const loss = () => {
      const outs = model.apply(x) as tf.Tensor[];
      return tf.sum(tf.square(tf.sub(outs.at(-1)!, target))) as tf.Scalar;
    };
    expectGradientsMatch(gradientRows(loss, ks, 1e-2), 1e-3, 1e-4);
  });
});
