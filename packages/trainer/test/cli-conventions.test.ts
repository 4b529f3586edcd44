import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main';
import { readConfigFile, trainOverrides } from '../src/cli/train';
import { resolveConfig } from '../src/config';
import { readMetricsLog } from '../src/log';
import { tinyFlags, tmp } from './helpers';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

describe('CLI conventions (issue 16)', () => {
  it('lm alone prints the help and exits 0 (it does not start a run)', async () => {
    const c = capture();
    expect(await main([], c.io)).toBe(0);
    expect(c.out.join('\n')).toMatch(/^Usage: lm <command> \[options\]\n\nCommands:\n {2}train /);
    expect(c.err).toEqual([]);
  });

  it("--config with a run's config.json (and a new --out) resolves to that run's config; flags override the file", async () => {
    const dir = tmp('config-file');
    const original = resolveConfig({ preset: 'cifar10-lm-resnet', epochs: 3, lr: 0.05, seed: 11, trainImages: 1000, out: join(dir, 'a') });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(original, null, 2));
    const again = resolveConfig({ ...(await readConfigFile(join(dir, 'config.json'))), ...trainOverrides(['--out', join(dir, 'b')]).overrides });
    expect(again).toEqual({ ...original, out: join(dir, 'b') });
    writeFileSync(join(dir, 'run.yaml'), 'model: lm-resnet56\nepochs: 4\nlr: 0.2\nschedule:\n  type: cosine\n');
    const y = resolveConfig({ ...(await readConfigFile(join(dir, 'run.yaml'))), ...trainOverrides(['--lr', '0.3']).overrides });
    expect(y).toMatchObject({ model: 'lm-resnet56', epochs: 4, lr: 0.3, schedule: { type: 'cosine' } });
    writeFileSync(join(dir, 'bad.json'), '{"epochs": 2, "learning_rate": 0.1}');
    await expect(readConfigFile(join(dir, 'bad.json'))).rejects.toThrow(`--config '${join(dir, 'bad.json')}': unknown option 'learning_rate'. Options: model, `);
    writeFileSync(join(dir, 'garbled.json'), '{"epochs": 2,');
    await expect(readConfigFile(join(dir, 'garbled.json'))).rejects.toThrow(`--config '${join(dir, 'garbled.json')}' is not valid JSON: `);
    writeFileSync(join(dir, 'typed.json'), '{"seed": 1e300}');
    expect(() => resolveConfig(JSON.parse(readFileSync(join(dir, 'typed.json'), 'utf8')))).toThrow("--seed must be an integer in [0, 4294967295] (got '1e+300')");
  });

  it('an unknown --model is reported before any backend starts or data loads', async () => {
    const c = capture();
    const code = await main(['train', '--model', 'resnet-9000', '--dataset', 'cifar10', '--backend', 'tensorflow', '--out', join(tmp('early'), 'run')], c.io);
    expect(code).toBe(2);
    expect(c.out).toEqual([]); // no "backend:" line, no data line
    expect(c.err.join('\n')).toMatch(/^lm train: --model must be one of: .*lm-resnet20.* \(got 'resnet-9000'; plugins add more\)$/);
  });

  it('--log-format jsonl: one JSON record per epoch and every --log-every steps on stdout; summary.csv as timm writes it', async () => {
    const run = join(tmp('jsonl'), 'run');
    const flags = tinyFlags(run).map((a, i, all) => (all[i - 1] === '--epochs' ? '1' : a));
    const c = capture();
    const code = await main([...flags, '--log-format', 'jsonl', '--log-every', '4', '--progress', 'silent'], c.io);
    expect(code, c.err.join('\n')).toBe(0);
    const records = c.out.map((l) => JSON.parse(l));
    expect(records.map((r) => `${r.type}:${r.globalStep}`)).toEqual(['step:4', 'step:8', 'step:12', 'epoch:12']);
    const metrics = readMetricsLog(readFileSync(join(run, 'metrics.jsonl'), 'utf8'));
    expect(records[3]).toEqual({ type: 'epoch', ...metrics[0] });
    expect(c.err.some((l) => l.startsWith('epoch 1/1 | train loss'))).toBe(true);
    const csv = readFileSync(join(run, 'summary.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('epoch,train_loss,eval_loss,eval_top1,eval_top5,lr');
    const row = csv[1]!.split(',').map(Number);
    const m = metrics[0]!;
    expect(row).toEqual([1, m.train.loss, m.eval!.loss, 100 * (1 - m.eval!.top1Error), 100 * (1 - m.eval!.top5Error!), m.lr]);
  });
});
