import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { train } from '../src/train/loop';
import { buildModel, schemeCoefficientNames, trainableParams, weightGroup } from '../src/train/model';
import { loadPlugins } from '../src/train/plugins';
import { resolveConfig } from '../src/config';
import { SGD } from '../src/optim/sgd';
import { latestCheckpoint, readCheckpointState, restoreCheckpoint, writeCheckpoint } from '../src/train/checkpoint';
import { DivergenceError } from '../src/errors';
import { readMetricsLog } from '../src/log';
import { TINY_PLUGIN, tinyConfig, tmp } from './helpers';

const quiet = { progress: 'silent' as const, log: () => {} };

describe('training', () => {
  it('the loss falls on a tiny synthetic task; metrics.jsonl has one record per epoch with k_n', async () => {
    const out = tmp('train');
    const r = await train(tinyConfig(out, { epochs: 3, schedule: { type: 'constant' }, lr: 0.1 }), quiet);
    r.model.dispose();
    expect(r.history).toHaveLength(3);
    expect(r.history[2]!.train.loss).toBeLessThan(r.history[0]!.train.loss);
    expect(r.history[0]!.train.loss).toBeGreaterThan(2);
    const log = readMetricsLog(readFileSync(join(out, 'metrics.jsonl'), 'utf8'));
    expect(log.map((l) => l.epoch)).toEqual([1, 2, 3]);
    expect(log[0]!.eval?.split).toBe('validation');
    expect(log[0]!.eval?.images).toBe(64);
    expect(log[0]!.train.top5Error).toBeDefined();
    expect(log[0]!.k.map((k) => k.layer)).toEqual(['lm1', 'lm2']);
    expect(log[2]!.k[0]!.k[0]).not.toBe(log[0]!.k[0]!.k[0]);
    // epoch-end checkpoints, the last two kept
    expect(readdirSync(join(out, 'checkpoints')).sort()).toEqual(['ckpt-24', 'ckpt-36', 'latest']);
    expect(existsSync(join(out, 'model', 'model.json'))).toBe(true);
  });

  it('a crash while writing a checkpoint leaves the previous one loadable', async () => {
    const out = tmp('atomic');
    const r = await train(tinyConfig(out, { epochs: 1 }), quiet);
    const before = latestCheckpoint(out)!;
    expect(before).toMatch(/ckpt-12$/);
    const state = readCheckpointState(before);
    const sgd = new SGD(trainableParams(r.model), { lr: 0.1, momentum: 0.9 });
    for (const stage of ['model', 'optimizer', 'state', 'rename', 'latest'] as const) {
      await expect(
        writeCheckpoint(out, r.model, sgd, { ...state, globalStep: 99 }, {
          beforeStage: (s) => {
            if (s === stage) throw new Error(`simulated crash before ${s}`);
          },
        }),
      ).rejects.toThrow(`simulated crash before ${stage}`);
      // `latest` still names the old checkpoint until the pointer itself is replaced
      const now = latestCheckpoint(out)!;
      expect(now).toBe(before);
    }
    const fresh = buildModel(r.config, 10);
    const s2 = restoreCheckpoint(before, fresh, new SGD(trainableParams(fresh), { lr: 0.1, momentum: 0.9 }));
    expect(s2.epoch).toBe(1);
    const a = r.model.getWeights().map((w) => Array.from(w.dataSync()));
    const b = fresh.getWeights().map((w) => Array.from(w.dataSync()));
    expect(b).toEqual(a);
    fresh.dispose();
    r.model.dispose();
  });

  it('a NaN loss stops the run with a clear message and keeps the last good checkpoint', async () => {
    const out = tmp('nan');
    // epoch 1 trains normally; from epoch 2 the rate is multiplied by 1e8
    const cfg = tinyConfig(out, { epochs: 3, lr: 0.05, schedule: { type: 'step', milestones: [1], gamma: 1e8 } });
    let err: unknown;
    try {
      await train(cfg, quiet);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DivergenceError);
    const ckpt = join(out, 'checkpoints', 'ckpt-12');
    expect((err as Error).message).toMatch(new RegExp(`^Training diverged at epoch 2 step \\d+: loss is (NaN|Infinity) \\(last good checkpoint: ${ckpt}\\)$`));
    expect(latestCheckpoint(out)).toBe(ckpt);
    expect(readdirSync(join(out, 'checkpoints')).sort()).toEqual(['ckpt-12', 'latest']);
    const state = readCheckpointState(ckpt);
    expect([state.epoch, state.stepInEpoch, state.history.length]).toEqual([1, 0, 1]);
    const m = buildModel(state.config, 10);
    restoreCheckpoint(ckpt, m);
    for (const w of m.getWeights()) expect(tf.all(tf.isFinite(w)).dataSync()[0]).toBe(1);
    m.dispose();
  });
});

describe('time-based checkpoints', () => {
  it('checkpoints every --checkpoint-minutes in the middle of an epoch', async () => {
    const out = tmp('minutes');
    let t = 0;
    // every clock reading advances 10 s; checkpoints are due every 0.5 min
    const r = await train(tinyConfig(out, { epochs: 1, checkpointMinutes: 0.5, keepCheckpoints: 100 }), { ...quiet, now: () => (t += 10_000) });
    r.model.dispose();
    const names = readdirSync(join(out, 'checkpoints')).filter((n) => n.startsWith('ckpt-'));
    const mid = names.map((n) => readCheckpointState(join(out, 'checkpoints', n))).filter((s) => s.stepInEpoch > 0);
    expect(mid.length).toBeGreaterThanOrEqual(2);
    expect(names).toContain('ckpt-12');
  });
});

describe('weight-decay groups', () => {
  it('--wd-exclude norm,bias,k leaves decay only on convolution and dense kernels', async () => {
    await loadPlugins([TINY_PLUGIN]);
    const m = buildModel(resolveConfig(tinyConfig(tmp('groups'))), 10);
    const all = trainableParams(m);
    expect(all.every((p) => p.decay)).toBe(true);
    const some = trainableParams(m, ['norm', 'bias', 'k']);
    const decayed = some.filter((p) => p.decay).map((p) => p.name.replace(/^\d+:/, ''));
    expect(decayed.length).toBeGreaterThan(0);
    expect(decayed.every((n) => /kernel/.test(n))).toBe(true);
    const kept = some.filter((p) => !p.decay).map((p) => weightGroup(p.name.replace(/^\d+:/, ''), schemeCoefficientNames(m)));
    expect(new Set(kept)).toEqual(new Set(['norm', 'bias', 'k']));
    m.dispose();
  });
});
