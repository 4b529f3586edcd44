import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pairedDifference, sd, t975 } from '../src/paper/paired-stats';
import { fixPlan, readRunResult, runDir, summarise, type ComparePlan } from '../src/paper/compare';
import { compareMarkdown } from '../src/paper/compare-report';
import { main } from '../src/cli/main';
import { TINY_PLUGIN, tmp } from './helpers';

describe('lm compare statistics', () => {
  it('paired differences of a hand-computed case', () => {
    // d = (0.01, 0.01, 0.03): mean 1/60, sd = sqrt(((1/150)² · 2 + (1/75)²) / 2) = sqrt(1/7500) = 0.011547005
    // half-width t_{0.975,2} · sd / √3 = 4.302653 · 0.0066666667 = 0.028684353
    const d = pairedDifference([0.3, 0.28, 0.33], [0.29, 0.27, 0.3]);
    expect(d.n).toBe(3);
    expect(d.mean).toBeCloseTo(1 / 60, 12);
    expect(d.sd).toBeCloseTo(Math.sqrt(1 / 7500), 12);
    expect(d.low).toBeCloseTo(1 / 60 - 0.028684353, 8);
    expect(d.high).toBeCloseTo(1 / 60 + 0.028684353, 8);
    expect([d.above, d.below, d.ties]).toEqual([3, 0, 0]);
    expect(d.signTestP).toBeCloseTo(0.25, 12);
    const mixed = pairedDifference([1, 2, 3, 4], [2, 2, 1, 1]);
    expect([mixed.above, mixed.below, mixed.ties]).toEqual([2, 1, 1]);
    expect(mixed.signTestP).toBeCloseTo(1, 12);
    expect(sd([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(t975(1)).toBeCloseTo(12.7062, 4);
    expect(t975(60)).toBeCloseTo(2.0003, 3);
    expect(() => pairedDifference([1], [])).toThrow(/equal non-zero lengths/);
  });

  it('final-epoch errors from run folders; unfinished runs are left out of the pairs', () => {
    const out = tmp('compare-sum');
    try {
      const plan: ComparePlan = { arms: [{ label: 'base', flags: [] }, { label: 'lm', flags: ['--model', 'lm-resnet20'] }], seeds: [0, 1, 2], common: [], metric: 'final-epoch held-out top-1 error' };
      const errors: Record<string, (number | undefined)[]> = { base: [0.3, 0.28, 0.33], lm: [0.29, 0.27, undefined] };
      for (const [arm, es] of Object.entries(errors)) {
        es.forEach((e, seed) => {
          const dir = runDir(out, arm, seed);
          mkdirSync(dir, { recursive: true });
          writeFileSync(join(dir, 'config.json'), JSON.stringify({ epochs: 2 }));
          const rec = (epoch: number, err: number) => JSON.stringify({ epoch, eval: { top1Error: err, loss: 1, images: 10, split: 'test' } });
          // the best epoch (0.1) must not be the score
          writeFileSync(join(dir, 'metrics.jsonl'), `${rec(1, 0.1)}\n${e === undefined ? '' : `${rec(2, e)}\n`}`);
        });
      }
      const runs = plan.seeds.flatMap((s) => plan.arms.map((a) => readRunResult(a.label, s, runDir(out, a.label, s))));
      expect(runs.find((r) => r.arm === 'lm' && r.seed === 2)!.error).toBeUndefined();
      const r = summarise(plan, runs);
      expect(r.complete).toBe(false);
      expect(r.arms.map((a) => [a.arm, a.n])).toEqual([['base', 2], ['lm', 2]]);
      expect(r.arms[0]!.mean).toBeCloseTo(0.29, 12);
      expect(r.differences[0]!.mean).toBeCloseTo(-0.01, 12);
      const md = compareMarkdown(r);
      expect(md).toContain('| base | 30.00 | 28.00 | 33.00 | 29.00 | 1.41 |');
      expect(md).toContain('| lm | 29.00 | 27.00 | - | 28.00 | 1.41 |');
      expect(md).toContain('Final-epoch test top-1 error');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('the plan is fixed before the runs: another plan for the same folder is refused', () => {
    const out = tmp('compare-plan');
    try {
      const plan: ComparePlan = { arms: [{ label: 'a', flags: [] }, { label: 'b', flags: [] }], seeds: [0, 1], common: [], metric: 'final-epoch held-out top-1 error' };
      fixPlan(out, plan);
      fixPlan(out, plan);
      expect(() => fixPlan(out, { ...plan, seeds: [0, 1, 2] })).toThrow(/records another plan/);
      expect(() => fixPlan(out, { ...plan, arms: [plan.arms[0]!, plan.arms[0]!] })).toThrow(/labels must differ/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('lm compare end to end on tiny models: run folders, report files, and a second call resumes nothing', async () => {
    const out = tmp('compare-e2e');
    try {
      const common = ['--plugin', TINY_PLUGIN, '--dataset', 'synthetic', '--synthetic-size', '48', '--val-size', '32', '--epochs', '1', '--batch-size', '16', '--lr', '0.05', '--warmup-epochs', '0', '--schedule', 'constant', '--backend', 'cpu'];
      const args = ['compare', '--arm', 'resnet: --model tiny-resnet', '--arm', 'lm: --model tiny-lm', '--seeds', '1,2', '--out', out, '--', ...common];
      const err: string[] = [];
      const lines: string[] = [];
      expect(await main(args, { out: (l) => lines.push(l), err: (l) => err.push(l) })).toBe(0);
      expect(err.filter((l) => l.startsWith('starting'))).toHaveLength(4);
      for (const f of ['plan.json', 'compare.md', 'compare.csv', 'compare.json', 'compare.svg', 'lm/seed-2/metrics.jsonl', 'resnet/seed-1/config.json']) readFileSync(join(out, f));
      const json = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'));
      expect(json.complete).toBe(true);
      expect(json.differences[0].n).toBe(2);
      expect(lines.join('\n')).toContain('| lm |');
      const again: string[] = [];
      expect(await main(args, { out: () => {}, err: (l) => again.push(l) })).toBe(0);
      expect(again.filter((l) => l.startsWith('starting') || l.startsWith('resuming'))).toEqual([]);
      expect(await main(['compare', '--arm', 'a: --seed 3', '--arm', 'b:', '--out', out], { out: () => {}, err: () => {} })).toBe(2);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
