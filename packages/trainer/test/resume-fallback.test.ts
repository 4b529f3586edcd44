import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { train } from '../src/train/loop';
import { readMetricsLog, type EpochRecord } from '../src/log';
import { savedWeights, tinyConfig, tmp } from './helpers';

const comparable = (r: EpochRecord) => ({ epoch: r.epoch, globalStep: r.globalStep, lr: r.lr, train: r.train, eval: r.eval, k: r.k });

describe('resume past a damaged checkpoint', () => {
  it('the newest checkpoint is corrupt: --resume continues from the one before and ends with the weights of an uninterrupted run', async () => {
    const full = join(tmp('fallback-full'), 'run');
    // tiny-lm-sd has stochastic depth: the random state of its layers is restored too
    const cfg = tinyConfig(full, { model: 'tiny-lm-sd', epochs: 2, checkpointEverySteps: 5, keepCheckpoints: 10 });
    (await train(cfg, { progress: 'silent', log: () => {}, warn: () => {} })).model.dispose();

    // the same run, stopped after its last checkpoint was written, with that checkpoint damaged
    const damaged = join(tmp('fallback-damaged'), 'run');
    cpSync(full, damaged, { recursive: true });
    rmSync(join(damaged, 'model'), { recursive: true });
    rmSync(join(damaged, 'summary.json'));
    const newest = readFileSync(join(damaged, 'checkpoints', 'latest'), 'utf8').trim();
    expect(newest).toBe('ckpt-24');
    const stateFile = join(damaged, 'checkpoints', newest, 'state.json');
    writeFileSync(stateFile, readFileSync(stateFile, 'utf8').replace('"globalStep": 24', '"globalStep": 25'));

    const warnings: string[] = [];
    const lines: string[] = [];
    const r = await train({}, { resume: damaged, progress: 'silent', log: (l) => lines.push(l), warn: (l) => warnings.push(l) });
    r.model.dispose();
    expect(warnings).toEqual([
      'warning: skipped checkpoint ckpt-24: state.json: sha256 differs from the manifest (the file is damaged)',
      'using checkpoint ckpt-20, the newest that verifies',
    ]);
    expect(lines).toContain(`resuming ${join(damaged, 'checkpoints', 'ckpt-20')}: epoch 2, step 8/12 (global step 20)`);

    const wa = savedWeights(join(full, 'model'));
    const wb = savedWeights(join(damaged, 'model'));
    expect(wb.length).toBe(wa.length);
    wa.forEach((w, i) => expect(Buffer.from(wb[i]!.buffer).equals(Buffer.from(w.buffer)), `weight ${i}`).toBe(true));
    const la = readMetricsLog(readFileSync(join(full, 'metrics.jsonl'), 'utf8')).map(comparable);
    const lb = readMetricsLog(readFileSync(join(damaged, 'metrics.jsonl'), 'utf8')).map(comparable);
    expect(lb).toEqual(la);
  });
});
