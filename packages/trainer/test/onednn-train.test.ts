import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isOnednnAvailable, onednnLoadError } from '@lm/backend-onednn';
import { readMetricsLog } from '../src/log';
import { lm, savedWeights, tmp, until } from './helpers';

/**
 * The default path of `lm train`: the real LM-ResNet-20 on the `onednn` backend (its fused batch-norm kernel
 * included), 2 epochs of 6 steps of 8 synthetic 32x32 images; stopped mid-epoch and resumed, it ends where
 * an uninterrupted run ends. CI builds the addon (libdnnl-dev), so a missing addon fails here, loudly.
 */
const flags = (out: string): string[] => [
  'train', '--model', 'lm-resnet20', '--backend', 'onednn', '--dataset', 'synthetic', '--synthetic-size', '48', '--val-size', '16',
  '--epochs', '2', '--batch-size', '8', '--eval-batch-size', '32', '--lr', '0.05', '--warmup-epochs', '0', '--schedule', 'step:1',
  '--seed', '7', '--progress', 'lines', '--out', out,
];

describe('lm train on onednn with the real lm-resnet20', () => {
  it('trains, stops mid-epoch on SIGTERM, resumes from that step and ends with the weights of an uninterrupted run', { timeout: 600_000 }, async () => {
    if (!isOnednnAvailable()) throw onednnLoadError() ?? new Error('the onednn backend is unavailable');
    const full = tmp('onednn-full');
    const stopped = tmp('onednn-stopped');

    const a = await lm(flags(full)).done;
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/^backend: onednn/m);
    expect(a.stdout).toMatch(/model: lm-resnet20 \(\d+ trainable parameters\)/);
    const la = readMetricsLog(readFileSync(join(full, 'metrics.jsonl'), 'utf8'));
    expect(la.map((r) => r.epoch)).toEqual([1, 2]);
    expect(la.every((r) => Number.isFinite(r.train.loss))).toBe(true);

    const b = lm(flags(stopped));
    let stderr = '';
    b.child.stderr!.on('data', (d) => (stderr += d));
    await until(() => /epoch 1\/2 step 2\/6/.test(stderr), 'step 2 of the first epoch');
    b.child.kill('SIGTERM');
    const bEnd = await b.done;
    expect(bEnd.code, bEnd.stderr).toBe(130);
    expect(existsSync(join(stopped, 'model'))).toBe(false);
    const latest = readFileSync(join(stopped, 'checkpoints', 'latest'), 'utf8').trim();
    const at = JSON.parse(readFileSync(join(stopped, 'checkpoints', latest, 'state.json'), 'utf8'));
    expect(at.epoch, 'stopped in the first epoch').toBe(0);
    expect(at.stepInEpoch, 'stopped mid-epoch').toBeGreaterThanOrEqual(2);
    expect(at.stepInEpoch).toBeLessThan(6);

    const resumed = await lm(['train', '--resume', stopped, '--progress', 'lines']).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/^backend: onednn/m);
    expect(resumed.stdout).toContain(`resuming ${join(stopped, 'checkpoints', latest)}: epoch 1, step ${at.stepInEpoch}/6`);
    // it trains on after that step: its first progress line is a later step of the same epoch
    const first = /epoch (\d+)\/2 step (\d+)\/6/.exec(resumed.stderr);
    expect(first?.[1], resumed.stderr).toBe('1');
    expect(Number(first?.[2]), resumed.stderr).toBeGreaterThan(at.stepInEpoch);

    const wa = savedWeights(join(full, 'model'));
    const wb = savedWeights(join(stopped, 'model'));
    expect(wb.length).toBe(wa.length);
    let maxDiff = 0;
    let moved = 0;
    wa.forEach((w, i) => w.forEach((x, j) => (maxDiff = Math.max(maxDiff, Math.abs(x - wb[i]![j]!)))));
    const lb = readMetricsLog(readFileSync(join(stopped, 'metrics.jsonl'), 'utf8'));
    expect(lb.map((r) => r.globalStep)).toEqual(la.map((r) => r.globalStep));
    lb.forEach((r, i) => {
      moved = Math.max(moved, Math.abs(r.train.loss - la[i]!.train.loss));
      expect(r.k).toEqual(la[i]!.k);
    });
    // the same kernels on the same inputs in the same order: identical
    expect(maxDiff).toBe(0);
    expect(moved).toBe(0);
  });
});
