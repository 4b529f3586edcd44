import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { packSgdState, SGD, unpackSgdState } from '../src/optim/sgd';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const W0 = [1, -2, 0.5];
const GRADS = [
  [0.1, 0.2, -0.3],
  [0.05, -0.1, 0.2],
  [-0.2, 0.3, 0.1],
];

/** The torch.optim.SGD update written out by hand in float64. */
function reference(o: { lr: number; momentum: number; wd: number; nesterov: boolean; dampening?: number }): number[][] {
  const w = [...W0];
  let buf: number[] | null = null;
  const out: number[][] = [];
  for (const grad of GRADS) {
    const g = grad.map((gi, i) => gi + o.wd * w[i]!);
    if (buf === null) buf = [...g];
    else buf = buf.map((b, i) => o.momentum * b + (1 - (o.dampening ?? 0)) * g[i]!);
    const d = o.nesterov ? g.map((gi, i) => gi + o.momentum * buf![i]!) : buf;
    for (let i = 0; i < w.length; i++) w[i] = w[i]! - o.lr * d[i]!;
    out.push([...w]);
  }
  return out;
}

/** Distinct names for the variables of each run. */
let variables = 0;

function run(o: { lr: number; momentum: number; wd: number; nesterov: boolean; decay?: boolean }): number[][] {
  const v = tf.variable(tf.tensor1d(W0), true, `w${variables++}`);
  const sgd = new SGD([{ variable: v, decay: o.decay ?? true }], { lr: o.lr, momentum: o.momentum, weightDecay: o.wd, nesterov: o.nesterov });
  const out: number[][] = [];
  for (const g of GRADS) {
    const t = tf.tensor1d(g);
    sgd.step([t]);
    t.dispose();
    out.push(Array.from(v.dataSync()));
  }
  sgd.dispose();
  v.dispose();
  return out;
}

describe('SGD with PyTorch semantics', () => {
  it('first step: buffer = gradient (+ weight decay), w ← w − lr·g', () => {
    const [w1] = run({ lr: 0.1, momentum: 0.9, wd: 0.01, nesterov: false });
    // g = 0.1 + 0.01·1 = 0.11 → w = 1 − 0.011
    expect(w1![0]).toBeCloseTo(1 - 0.1 * 0.11, 6);
    expect(w1![1]).toBeCloseTo(-2 - 0.1 * (0.2 + 0.01 * -2), 6);
  });

  for (const nesterov of [false, true]) {
    it(`matches the hand computation over three steps (momentum 0.9, wd 1e-2, nesterov ${nesterov})`, () => {
      const o = { lr: 0.1, momentum: 0.9, wd: 0.01, nesterov };
      const got = run(o);
      const want = reference(o);
      got.forEach((w, s) => w.forEach((x, i) => expect(x).toBeCloseTo(want[s]![i]!, 6)));
    });
  }

  it('momentum 0 is plain gradient descent with decoupled-from-loss weight decay', () => {
    const got = run({ lr: 0.5, momentum: 0, wd: 0.1, nesterov: false });
    const want = reference({ lr: 0.5, momentum: 0, wd: 0.1, nesterov: false });
    got.forEach((w, s) => w.forEach((x, i) => expect(x).toBeCloseTo(want[s]![i]!, 6)));
  });

  it('excluded parameters get no weight decay', () => {
    const got = run({ lr: 0.1, momentum: 0.9, wd: 0.5, nesterov: false, decay: false });
    const want = reference({ lr: 0.1, momentum: 0.9, wd: 0, nesterov: false });
    got.forEach((w, s) => w.forEach((x, i) => expect(x).toBeCloseTo(want[s]![i]!, 6)));
  });

  it('state round-trips through pack/unpack and continues identically', () => {
    const mk = () => tf.variable(tf.tensor1d(W0), true, `w${variables++}`);
    const a = mk();
    const b = mk();
    const opt = { lr: 0.1, momentum: 0.9, weightDecay: 0.01 };
    const sa = new SGD([a], opt);
    sa.step([tf.tensor1d(GRADS[0]!)]);
    const packed = packSgdState(sa.getState());
    b.assign(a);
    const sb = new SGD([b], opt);
    sb.setState(unpackSgdState(packed.json, packed.bin));
    for (const s of [sa, sb]) s.step([tf.tensor1d(GRADS[1]!)]);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
  });

  // torch.optim.SGD on the same start and gradients, without and with Nesterov: one python process.
  const script = `
import json, sys
try:
    import torch
except ImportError as e:
    print(json.dumps({"skip": str(e)})); sys.exit(0)
out = {}
for nesterov in (False, True):
    w = torch.nn.Parameter(torch.tensor(${JSON.stringify(W0)}, dtype=torch.float32))
    opt = torch.optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=nesterov)
    steps = []
    for g in ${JSON.stringify(GRADS)}:
        w.grad = torch.tensor(g, dtype=torch.float32)
        opt.step()
        steps.append(w.detach().tolist())
    out[str(nesterov).lower()] = steps
print(json.dumps(out))`;
  const py = spawnSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8' });
  const torchSteps: { skip?: string; false?: number[][]; true?: number[][] } =
    py.status === 0 ? JSON.parse(py.stdout) : { skip: py.error ? `/usr/bin/python3: ${py.error.message}` : py.stderr.trim() };
  if (torchSteps.skip) console.warn(`[sgd] skipped the comparison with torch.optim.SGD (${torchSteps.skip}); install python3-torch to run it`);
  it.skipIf(torchSteps.skip !== undefined)('agrees with torch.optim.SGD (momentum, weight decay, Nesterov)', () => {
    for (const nesterov of [false, true]) {
      const want = torchSteps[nesterov ? 'true' : 'false']!;
      const got = run({ lr: 0.1, momentum: 0.9, wd: 0.01, nesterov });
      got.forEach((w, s) => w.forEach((x, i) => expect(Math.abs(x - want[s]![i]!)).toBeLessThan(1e-6)));
    }
  });
});
