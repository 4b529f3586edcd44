import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lm, PKG, TINY_PLUGIN, tinyFlags, tmp } from './helpers';

describe('the lm command (child processes, from source)', () => {
  it('lm models lists the registry, plugins add to it', async () => {
    const r = await lm(['models', 'lm-resnet*']).done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')).toContain('lm-resnet20');
    expect(r.stdout).not.toContain('revnet');
    const p = await lm(['models', 'tiny-*', '--plugin', TINY_PLUGIN]).done;
    expect(p.stdout.trim().split('\n')).toEqual(['tiny-lm', 'tiny-lm-sd', 'tiny-resnet']);
  });

  it.skipIf(!existsSync(join(PKG, 'dist', 'cli.js')))('the built bin (dist/cli.js, after npx tsup) runs', async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, [join(PKG, 'dist', 'cli.js'), 'models', 'lm-resnet2*'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['lm-resnet20']);
    expect(readFileSync(join(PKG, 'dist', 'cli.js'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('lm params prints the table against the paper', async () => {
    const r = await lm(['params', 'resnet20']).done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('| resnet20 | 0.270M | 0.270M |');
  });

  it('bad options exit with 2 and name the option and allowed values', async () => {
    const r = await lm(['train', '--preset', 'fastest']).done;
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      "lm train: --preset must be one of: quick, cifar10-lm-resnet, cifar100-lm-resnet, cifar-lm-resnext, cifar-stochastic-depth, imagenet (got 'fastest')",
    );
    const m = await lm(['train', '--model', 'resnet-9000', '--dataset', 'synthetic', '--synthetic-size', '64', '--val-size', '16', '--backend', 'cpu', '--out', tmp('badmodel')]).done;
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/--model must be one of: .*lm-resnet20.* \(got 'resnet-9000'/);
    const u = await lm(['frobnicate']).done;
    expect(u.code).toBe(2);
    expect(u.stderr).toContain("unknown command 'frobnicate'. Commands: train, eval, models, params, report, compare, analyze");
  });

  it('train → eval → report end to end, with the JSON-lines log and plain progress lines off a terminal', async () => {
    const out = tmp('cli');
    const t = await lm(tinyFlags(out)).done;
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^backend: cpu \(requested with --backend cpu\)$/m);
    expect(t.stdout).toMatch(/^epoch 1\/2 \| train loss [\d.]+ top-1 err [\d.]+% top-5 err [\d.]+% \| validation loss/m);
    expect(t.stderr).toMatch(/^epoch 1\/2 step \d+\/12 \| [\d.]+ img\/s \| loss [\d.]+ \| ETA/m);
    expect(t.stderr).not.toContain('\r');
    const records = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records).toHaveLength(2);

    const e = await lm(['eval', '--checkpoint', out, '--backend', 'cpu', '--json']).done;
    expect(e.code, e.stderr).toBe(0);
    const res = JSON.parse(e.stdout);
    expect(res.split).toBe('validation');
    expect(res.images).toBe(64);
    // the checkpoint is the final epoch's: same numbers as its log line
    expect(res.top1Error).toBeCloseTo(records[1].eval.top1Error, 10);
    expect(res.top5Error).toBeCloseTo(records[1].eval.top5Error, 10);

    const rep = await lm(['report', out, '--out', join(out, 'report')]).done;
    expect(rep.code, rep.stderr).toBe(0);
    for (const f of ['report.html', 'error-curves.png', 'k-values.png']) expect(existsSync(join(out, 'report', f))).toBe(true);
  });

  it('a diverging run exits non-zero with the divergence message', async () => {
    const out = tmp('diverge');
    const flags = tinyFlags(out).map((a, i, all) => (all[i - 1] === '--lr' ? '1e6' : all[i - 1] === '--epochs' ? '1' : a));
    const r = await lm(flags).done;
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^Training diverged at epoch 1 step \d+: loss is (NaN|Infinity) \(last good checkpoint: none written yet\)$/m);
  });

  it('offline without CIFAR-10: one line says so and training runs on the synthetic dataset', async () => {
    const out = tmp('offline');
    const cache = tmp('empty-cache');
    const r = await lm(
      ['train', '--plugin', TINY_PLUGIN, '--model', 'tiny-lm', '--epochs', '1', '--synthetic-size', '96', '--val-size', '32', '--batch-size', '16', '--backend', 'cpu', '--progress', 'silent', '--out', out],
      { LM_DATA_DIR: cache, LM_CIFAR10_URL: 'http://127.0.0.1:9/cifar-10-binary.tar.gz', LM_CIFAR10: '', LM_CIFAR10_PATH: '', LM_SHARED_DIR: '' },
    ).done;
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('CIFAR-10 not found'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^CIFAR-10 not found locally and not downloadable \(download failed: .+\); training on the built-in synthetic dataset instead\.$/);
    expect(existsSync(join(out, 'model', 'model.json'))).toBe(true);
    // the run records the data it really used, so --resume and lm eval use it too
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))).toMatchObject({ dataset: 'synthetic', syntheticClasses: 10 });
  });
});
