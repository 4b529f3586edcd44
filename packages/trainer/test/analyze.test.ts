import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveModel } from '@lm/core-blocks/node';
import { createModel, lmStepLayers } from '@lm/schemes';
import { analyseLmStep, analyseTwoStep } from '../src/paper/two-step-analysis';
import { analyseMultistep, polynomialRoots } from '../src/paper/multistep-analysis';
import { analyseSteps, analysisCsv, analysisMarkdown } from '../src/paper/analyze';
import { schemeSteps } from '../src/paper/scheme-steps';
import { main } from '../src/cli/main';
import { tmp } from './helpers';

const sorted = (a: ReturnType<typeof analyseLmStep>) => a.roots.map((r) => [r.re, r.im]).sort((x, y) => y[0]! - x[0]!);

describe('two-step analysis against closed forms', () => {
  it('k = 0 is forward Euler: roots 1 and 0, zero-stable, order 1 for u_t = f, u\' + dt/2 u\'\' = f', () => {
    const a = analyseLmStep(0, 0.5);
    expect(sorted(a)).toEqual([[1, 0], [0, 0]]);
    expect(a.zeroStability).toBe('stable');
    expect(a.orderForF).toBe(1);
    expect(a.modified).toEqual({ uPrime: 1, uSecond: 0.25 });
    expect(a.effective).toEqual({ scale: 1, order: 1 });
  });

  it('k = -1: a double root at 1, not zero-stable, no first-order modified equation', () => {
    const a = analyseLmStep(-1);
    expect(sorted(a)).toEqual([[1, 0], [1, 0]]);
    expect(a.zeroStability).toBe('unstable');
    expect(a.orderForF).toBe(0);
    expect(a.modified).toEqual({ uPrime: 0, uSecond: 1 });
    expect(a.effective).toBeNull();
  });

  it('k = 1 is the leapfrog scheme: roots ±1, weakly stable, order 2 for u_t = f/2', () => {
    const a = analyseLmStep(1);
    expect(sorted(a)).toEqual([[1, 0], [-1, 0]]);
    expect(a.zeroStability).toBe('weak');
    expect(a.orderForF).toBe(0);
    expect(a.modified).toEqual({ uPrime: 2, uSecond: 0 });
    expect(a.effective).toEqual({ scale: 0.5, order: 2 });
  });

  it('|k| > 1: the root -k leaves the unit disc', () => {
    for (const k of [1.5, -2, 3]) {
      const a = analyseLmStep(k);
      expect(sorted(a).map((r) => r[0])).toEqual([1, -k].sort((x, y) => y - x));
      expect(a.zeroStability).toBe('unstable');
      expect(a.modified!.uPrime).toBeCloseTo(1 + k, 12);
      expect(a.modified!.uSecond).toBeCloseTo((1 - k) / 2, 12);
    }
  });

  it('|k| < 1, k != 0: stable, order 1 for u_t = f / (1 + k), inconsistent with u_t = f', () => {
    for (const k of [-0.3, 0.6]) {
      const a = analyseLmStep(k);
      expect(sorted(a)[1]![0]).toBeCloseTo(-k, 12);
      expect(a.zeroStability).toBe('stable');
      expect(a.orderForF).toBe(0);
      expect(a.effective!.scale).toBeCloseTo(1 / (1 + k), 12);
      expect(a.effective!.order).toBe(1);
    }
  });

  it('complex roots: u_{n+1} = u_n - 0.5 u_{n-1} has |ζ|² = 0.5', () => {
    const a = analyseTwoStep(1, -0.5);
    expect(a.roots.map((r) => r.re)).toEqual([0.5, 0.5]);
    expect(a.roots.map((r) => Math.abs(r.im))).toEqual([0.5, 0.5]);
    expect(a.zeroStability).toBe('stable');
  });
});

describe('k-step analysis against closed forms', () => {
  const moduli = (a: { roots: { re: number; im: number }[] }) => a.roots.map((r) => Math.hypot(r.re, r.im));

  it('the LM step in the general form gives what the two-step closed form gives', () => {
    for (const k of [0, -1, 1, 2, -0.05, 0.4]) {
      const g = analyseMultistep([1 - k, k], [1], 0.5);
      const t = analyseLmStep(k, 0.5);
      expect(g.roots).toEqual(t.roots);
      expect([g.zeroStability, g.orderForF, g.effective?.order]).toEqual([t.zeroStability, t.orderForF, t.effective?.order]);
      expect(g.modified!.uPrime).toBeCloseTo(1 + k, 12);
      expect(g.modified!.uSecond).toBeCloseTo(((1 - k) * 0.5) / 2, 12); // eq. (3): (1 − k_n) Δt/2
    }
  });

  it('Adams–Bashforth 2 and 3: roots 1 and 0, order 2 and 3, no first-order term in the modified equation', () => {
    const ab2 = analyseMultistep([1, 0], [1.5, -0.5]);
    expect(ab2.roots).toEqual([{ re: 1, im: 0 }, { re: 0, im: 0 }]);
    expect([ab2.zeroStability, ab2.orderForF]).toEqual(['stable', 2]);
    expect(ab2.modified!.uPrime).toBeCloseTo(1, 12);
    expect(ab2.modified!.uSecond).toBeCloseTo(0, 12);
    const ab3 = analyseMultistep([1, 0, 0], [23 / 12, -16 / 12, 5 / 12]);
    expect(moduli(ab3).map((m) => Number(m.toFixed(6)))).toEqual([1, 0, 0]);
    expect([ab3.zeroStability, ab3.orderForF]).toEqual(['stable', 3]);
  });

  it('degree 3 by iteration: ζ³ = 1 is weakly stable (three simple roots on the circle); (ζ + 1)²(ζ − 1) is not zero-stable', () => {
    const cube = polynomialRoots([0, 0, 1]);
    expect(cube.map((r) => Math.hypot(r.re, r.im))).toEqual([1, 1, 1].map((v) => expect.closeTo(v, 10)));
    expect(cube.map((r) => Math.atan2(r.im, r.re)).sort((x, y) => x - y)).toEqual([-2 * Math.PI / 3, 0, 2 * Math.PI / 3].map((v) => expect.closeTo(v, 9)));
    expect(analyseMultistep([0, 0, 1], [0, 3]).zeroStability).toBe('weak');
    expect(analyseMultistep([-1, 1, 1], [1]).zeroStability).toBe('unstable');
    expect(polynomialRoots([0.5, 0.3, 0.2]).map((r) => Math.hypot(r.re, r.im))[0]).toBeCloseTo(1, 10); // Σ a_j = 1: ζ = 1 is a root
  });

  it('a consistent 3-step update with b = (1) is consistent with u_t = f / ρ\'(1), ρ\'(1) = 1 + a_1 + 2 a_2', () => {
    const a = analyseMultistep([0.7, 0.2, 0.1], [1]);
    expect(a.orderForF).toBe(0);
    expect(a.effective!.scale).toBeCloseTo(1 / (1 + 0.2 + 0.2), 12);
    expect(a.effective!.order).toBe(1);
    expect(a.modified!.uPrime).toBeCloseTo(1.4, 12);
  });
});

describe('lm analyze', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('reads the steps of a saved LM network: Euler start, transitions, LM steps with their k_n', async () => {
    const dir = tmp('analyze');
    try {
      const model = createModel('lm-resnet20', { seed: 2, inputShape: [8, 8, 3], conventions: 'authors' });
      const ks = [0, -1, 1, 2, -0.05, 0.4];
      lmStepLayers(model).forEach((l, i) => l.setWeights([tf.tensor1d([1 - ks[i]!])]));
      await saveModel(model, join(dir, 'model'));
      const steps = schemeSteps(model);
      expect(steps.map((s) => s.kind)).toEqual(['euler', 'lm', 'lm', 'transition', 'lm', 'lm', 'transition', 'lm', 'lm']);
      const rows = analyseSteps(steps);
      expect(rows.filter((r) => r.kind === 'lm').map((r) => r.zeroStability)).toEqual(['stable', 'unstable', 'weak', 'unstable', 'stable', 'stable']);
      expect(analysisMarkdown(rows).split('\n')[0]).toContain('| step | name | kind | k_n | roots of ρ | zero-stable |');
      expect(analysisCsv(rows).trim().split('\n')).toHaveLength(10);

      const out = join(dir, 'analysis');
      const lines: string[] = [];
      const code = await main(['analyze', join(dir, 'model'), '--out', out, '--format', 'json'], { out: (l) => lines.push(l), err: () => {} });
      expect(code).toBe(0);
      const printed = JSON.parse(lines.join('\n')) as { k?: number; zeroStability?: string }[];
      expect(printed.filter((r) => r.k !== undefined && r.zeroStability !== undefined).map((r) => Number(r.k!.toFixed(5)))).toEqual([0, 0, -1, 1, 2, -0.05, 0.4]);
      for (const f of ['analysis.md', 'analysis.csv', 'analysis.json', 'coefficients.svg']) expect(existsSync(join(out, f))).toBe(true);
      expect(readFileSync(join(out, 'coefficients.svg'), 'utf8')).toMatch(/^<svg[\s\S]*zero-stable[\s\S]*<\/svg>$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the steps of a k-step network (lm3-resnet20) from the form its layers declare', () => {
    const model = createModel('lm3-resnet20', { seed: 2, inputShape: [8, 8, 3] });
    const steps = schemeSteps(model);
    const multi = steps.filter((s) => s.kind === 'multistep');
    expect(multi.length).toBeGreaterThan(0);
    for (const s of multi) for (const f of s.forms!) expect(f.a.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 6);
    const rows = analyseSteps(steps).filter((r) => r.kind === 'multistep');
    expect(rows.every((r) => r.roots!.some((z) => Math.abs(z.re - 1) < 1e-6 && Math.abs(z.im) < 1e-6))).toBe(true);
    expect(rows.every((r) => r.zeroStability === 'stable')).toBe(true); // initialised near forward Euler
    expect(analysisMarkdown(analyseSteps(steps))).toContain('a_j; b_j');
    model.dispose();
  });
});
