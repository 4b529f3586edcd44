import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveModel } from '@lm/core-blocks/node';
import { createModel, lmStepLayers } from '@lm/schemes';
import { analyseLmStep, analyseTwoStep } from '../src/paper/two-step-analysis';
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
      expect(a.modified.uPrime).toBeCloseTo(1 + k, 12);
      expect(a.modified.uSecond).toBeCloseTo((1 - k) / 2, 12);
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
});
