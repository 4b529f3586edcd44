import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { listClassFolders } from '@lm/data-imagenet';
import { train, type TrainResult } from '../src/train/loop';
import { chooseCheckpoint, cleanTempFiles, pruneCheckpoints, restoreCheckpoint } from '../src/train/checkpoint';
import { locateModel } from '../src/train/evaluate-checkpoint';
import { lockRunFolder } from '../src/train/run-folder';
import { loadPlugins } from '../src/train/plugins';
import { buildModel, trainableParams } from '../src/train/model';
import { SGD } from '../src/optim/sgd';
import { CheckpointError, DataError, DivergenceError, FileError, OptionError } from '../src/errors';
import { PKG, TINY_PLUGIN, tinyConfig, tinyFlags, tmp } from './helpers';

const quiet = { progress: 'silent' as const, log: () => {}, warn: () => {} };

/** Path → sha256 of every file under `dir`: compared before and after to show nothing was touched. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[p.slice(dir.length)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

/** A finished 1-epoch tiny run with checkpoints ckpt-6 (mid-epoch) and ckpt-12 (epoch end); each test works on a copy. */
let base: string;
let baseResult: TrainResult;
function copyRun(): string {
  const d = join(tmp('copy'), 'run');
  cpSync(base, d, { recursive: true });
  return d;
}

beforeAll(async () => {
  base = join(tmp('safety'), 'run');
  baseResult = await train(tinyConfig(base, { epochs: 1, checkpointEverySteps: 6, keepCheckpoints: 3 }), quiet);
  expect(readdirSync(join(base, 'checkpoints')).sort()).toEqual(['ckpt-12', 'ckpt-6', 'latest']);
}, 120_000);

describe('checkpoints are verified, and a damaged newest one falls back to the one before', () => {
  const weightsFile = (ck: string) => join(ck, 'model', readdirSync(join(ck, 'model')).find((f) => f.startsWith('weights-'))!);
  const damage: [string, (ck: string) => void, RegExp][] = [
    ['truncated state.json', (ck) => truncateSync(join(ck, 'state.json'), 10), /^state\.json has 10 bytes, the manifest says \d+ \(truncated or damaged\)$/],
    ['garbled optimizer.json', (ck) => writeFileSync(join(ck, 'optimizer.json'), '{"type": "sgd", garbage'), /^optimizer\.json has \d+ bytes, the manifest says \d+ \(truncated or damaged\)$/],
    ['truncated momentum.bin', (ck) => truncateSync(join(ck, 'momentum.bin'), 8), /^momentum\.bin has 8 bytes, the manifest says \d+/],
    [
      'one flipped byte in the weights',
      (ck) => {
        const f = weightsFile(ck);
        const b = readFileSync(f);
        b[100] = b[100]! ^ 0xff;
        writeFileSync(f, b);
      },
      /^model\/weights-[0-9a-f]+\.bin: sha256 differs from the manifest \(the file is damaged\)$/,
    ],
    ['weights file missing', (ck) => rmSync(weightsFile(ck)), /^model\/weights-[0-9a-f]+\.bin is missing$/],
    ['no manifest (an incomplete write)', (ck) => rmSync(join(ck, 'manifest.json')), /^no manifest\.json \(an incomplete write/],
    ['garbled manifest', (ck) => writeFileSync(join(ck, 'manifest.json'), '{"format":1,'), /manifest\.json: the manifest is not valid JSON/],
  ];
  for (const [what, spoil, reason] of damage) {
    it(`${what}: --resume and lm eval use ckpt-6 and say why ckpt-12 was skipped; ckpt-6 is untouched`, () => {
      const run = copyRun();
      spoil(join(run, 'checkpoints', 'ckpt-12'));
      const before = snapshot(join(run, 'checkpoints', 'ckpt-6'));
      const choice = chooseCheckpoint(run);
      expect(choice.path).toBe(join(run, 'checkpoints', 'ckpt-6'));
      expect(choice.skipped.map((s) => s.name)).toEqual(['ckpt-12']);
      expect(choice.skipped[0]!.reason).toMatch(reason);
      const warnings: string[] = [];
      const found = locateModel(run, (l) => warnings.push(l));
      expect(found.modelDir).toBe(join(run, 'checkpoints', 'ckpt-6', 'model'));
      expect(warnings[0]).toMatch(/^warning: skipped checkpoint ckpt-12: /);
      expect(warnings[1]).toBe('using checkpoint ckpt-6, the newest that verifies');
      expect(snapshot(join(run, 'checkpoints', 'ckpt-6'))).toEqual(before);
    });
  }

  const pointer: [string, (run: string) => void, string][] = [
    ['missing', (run) => rmSync(join(run, 'checkpoints', 'latest')), 'checkpoints/latest is missing'],
    ['garbled', (run) => writeFileSync(join(run, 'checkpoints', 'latest'), '\u0000\u0001junk'), 'checkpoints/latest does not name a checkpoint'],
    ['dangling', (run) => writeFileSync(join(run, 'checkpoints', 'latest'), 'ckpt-999\n'), 'checkpoints/latest names ckpt-999, which does not exist'],
  ];
  for (const [what, spoil, problem] of pointer) {
    it(`a ${what} 'latest' pointer: the newest verified checkpoint is used, and the pointer named`, () => {
      const run = copyRun();
      spoil(run);
      const choice = chooseCheckpoint(run);
      expect(choice.path).toBe(join(run, 'checkpoints', 'ckpt-12'));
      expect(choice.pointerProblem).toContain(problem);
    });
  }

  it('when no checkpoint verifies, --resume is an error listing each one and why', async () => {
    const run = copyRun();
    for (const n of ['ckpt-6', 'ckpt-12']) truncateSync(join(run, 'checkpoints', n, 'state.json'), 3);
    const before = snapshot(run);
    const e = await failure(train({}, { ...quiet, resume: run }));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toBe(
      `--resume: no checkpoint of '${run}' verifies (ckpt-12: state.json has 3 bytes, the manifest says ${statSync(join(base, 'checkpoints', 'ckpt-12', 'state.json')).size} (truncated or damaged); ` +
        `ckpt-6: state.json has 3 bytes, the manifest says ${statSync(join(base, 'checkpoints', 'ckpt-6', 'state.json')).size} (truncated or damaged)); the run cannot continue`,
    );
    expect(snapshot(run)).toEqual(before);
  });

  it('reading an unverified damaged file names the file: state.json, optimizer.json, momentum.bin, weights', async () => {
    await loadPlugins([TINY_PLUGIN]);
    const cases: [string, (ck: string) => void, RegExp][] = [
      ['state.json', (ck) => writeFileSync(join(ck, 'state.json'), '{"format": 1,'), /state\.json: state\.json is not valid JSON \(.+\); the file is damaged$/],
      ['optimizer.json', (ck) => writeFileSync(join(ck, 'optimizer.json'), '[1,'), /optimizer\.json: optimizer\.json is not valid JSON/],
      ['momentum.bin', (ck) => truncateSync(join(ck, 'momentum.bin'), 12), /momentum\.bin: holds 12 bytes, optimizer\.json describes \d+; the file is truncated or damaged$/],
      ['weights', (ck) => truncateSync(weightsFile(ck), 40), /model: the weights files hold 40 bytes, model\.json describes \d+; the weights are truncated or damaged$/],
    ];
    for (const [file, spoil, message] of cases) {
      const run = copyRun();
      const ck = join(run, 'checkpoints', 'ckpt-12');
      spoil(ck);
      const m = buildModel(baseResult.config, 10);
      const e = (() => {
        try {
          restoreCheckpoint(ck, m, new SGD(trainableParams(m), { lr: 0.1, momentum: 0.9 }));
        } catch (err) {
          return err as Error;
        }
        throw new Error(`no error for ${file}`);
      })();
      m.dispose();
      expect(e, file).toBeInstanceOf(CheckpointError);
      expect(e.message, file).toMatch(message);
      expect(e.message.startsWith(ck), file).toBe(true);
    }
  });

  it('pruning keeps the newest verified checkpoint and removes a damaged newer one', () => {
    const run = copyRun();
    truncateSync(join(run, 'checkpoints', 'ckpt-12', 'momentum.bin'), 4);
    const before = snapshot(join(run, 'checkpoints', 'ckpt-6'));
    pruneCheckpoints(run, 1);
    expect(readdirSync(join(run, 'checkpoints')).sort()).toEqual(['ckpt-6', 'latest']);
    expect(snapshot(join(run, 'checkpoints', 'ckpt-6'))).toEqual(before);
  });

  it('a model with a non-finite weight is never written as a checkpoint; the loop names the last good one', async () => {
    const run = join(tmp('poison'), 'run');
    const e = await failure(
      train(tinyConfig(run, { epochs: 1, checkpointEverySteps: 6, keepCheckpoints: 2 }), {
        ...quiet,
        // after the last step of the epoch one weight becomes infinite (as a step with --lr 1e6 does), the loss was finite
        onStepEnd: (s) => {
          if (s.step === s.stepsPerEpoch) {
            const w = s.model.weights[1]!;
            w.write(tf.fill(w.shape as number[], Infinity));
          }
        },
      }),
    );
    expect(e).toBeInstanceOf(DivergenceError);
    expect(e.message).toMatch(new RegExp(`^Training diverged at epoch 1 step 12: 1 weight\\(s\\) are not finite \\([^)]+\\), so no checkpoint was written \\(last good checkpoint: ${run}/checkpoints/ckpt-6\\)$`));
    expect(readdirSync(join(run, 'checkpoints')).sort()).toEqual(['ckpt-6', 'latest']);
    expect(chooseCheckpoint(run).path).toBe(join(run, 'checkpoints', 'ckpt-6'));
  });
});

describe('run folders are protected', () => {
  it('--out on an existing run without --resume is an error, and nothing in it changes', async () => {
    const run = copyRun();
    const before = snapshot(run);
    const e = await failure(train(tinyConfig(run, { epochs: 1 }), quiet));
    expect(e).toBeInstanceOf(OptionError);
    expect(e.message).toBe(`--out '${run}' already holds a run (config.json, metrics.jsonl, summary.json, model, checkpoints); continue it with: lm train --resume ${run}, or choose a new --out folder`);
    expect(snapshot(run)).toEqual(before);
  });

  it('a live process holding the lock: a second run gets an error naming its pid, the folder is untouched', async () => {
    const run = copyRun();
    const start = readFileSync('/proc/1/stat', 'utf8');
    writeFileSync(join(run, 'run.lock'), JSON.stringify({ pid: 1, host: hostname(), processStart: start.slice(start.lastIndexOf(')') + 2).split(' ')[19], startedAt: '2026-01-01T00:00:00.000Z' }));
    const before = snapshot(run);
    for (const attempt of [train({}, { ...quiet, resume: run }), train(tinyConfig(run, { epochs: 1 }), quiet)]) {
      const e = await failure(attempt);
      expect(e.message).toBe(
        `run folder '${run}' is in use by process 1 (training since 2026-01-01T00:00:00.000Z); wait for it to finish or stop it (kill 1), then resume with: lm train --resume ${run}`,
      );
    }
    expect(snapshot(run)).toEqual(before);
  });

  it('a stale lock of a dead process is detected and replaced; the lock is released at the end', () => {
    const dir = tmp('stale');
    const dead = spawnSync('true').pid!;
    writeFileSync(join(dir, 'run.lock'), JSON.stringify({ pid: dead, host: hostname(), startedAt: 'then' }));
    const lock = lockRunFolder(dir);
    expect(lock.replacedStale?.pid).toBe(dead);
    expect(JSON.parse(readFileSync(join(dir, 'run.lock'), 'utf8')).pid).toBe(process.pid);
    expect(() => lockRunFolder(dir)).toThrow(`is in use by process ${process.pid}`);
    lock.release();
    expect(existsSync(join(dir, 'run.lock'))).toBe(false);
  });

  it('--resume with a checkpoint folder or the checkpoints folder names the run folder to give; nothing changes', async () => {
    const run = copyRun();
    const before = snapshot(run);
    for (const given of [join(run, 'checkpoints', 'ckpt-12'), join(run, 'checkpoints', 'ckpt-6')]) {
      const e = await failure(train({}, { ...quiet, resume: given }));
      expect(e).toBeInstanceOf(OptionError);
      expect(e.message).toBe(`--resume takes a run folder, not a checkpoint: '${given}' is a checkpoint of the run '${run}'; give: lm train --resume ${run}`);
    }
    const e = await failure(train({}, { ...quiet, resume: join(run, 'checkpoints') }));
    expect(e.message).toBe(`--resume takes a run folder, not its checkpoints folder; give: lm train --resume ${run}`);
    const empty = tmp('norun');
    expect((await failure(train({}, { ...quiet, resume: empty }))).message).toMatch(/is not a run folder: it has no checkpoints\/ folder/);
    expect(snapshot(run)).toEqual(before);
  });

  const refused: [string, Record<string, unknown>, string][] = [
    ['--model', { model: 'tiny-resnet' }, "--model cannot change when resuming: the run was started with \"tiny-lm\"; leave --model out to continue it, or start a new run in a new --out folder"],
    ['--lr', { lr: 0.5 }, '--lr cannot change when resuming: the run was started with 0.05; leave --lr out'],
    ['--batch-size', { batchSize: 32 }, '--batch-size cannot change when resuming: the run was started with 16; leave --batch-size out'],
    ['--dataset', { dataset: 'cifar10' }, '--dataset cannot change when resuming: the run was started with "synthetic"; leave --dataset out'],
    ['--seed', { seed: 3 }, '--seed cannot change when resuming: the run was started with 0; leave --seed out'],
    ['--out', { out: '/tmp/elsewhere' }, "--out '/tmp/elsewhere' with --resume"],
  ];
  for (const [flag, overrides, message] of refused) {
    it(`--resume with a new ${flag} is an error naming ${flag}; nothing changes`, async () => {
      const run = copyRun();
      const before = snapshot(run);
      const e = await failure(train(overrides, { ...quiet, resume: run }));
      expect(e).toBeInstanceOf(OptionError);
      expect((e as OptionError).option).toBe(flag);
      expect(e.message).toContain(message);
      expect(snapshot(run)).toEqual(before);
    });
  }

  it('--resume honours --epochs, --backend and --keep-checkpoints, and accepts unchanged values; leftover temp files are removed first', async () => {
    const run = copyRun();
    mkdirSync(join(run, 'checkpoints', 'ckpt-13.tmp', 'model'), { recursive: true });
    writeFileSync(join(run, 'metrics.jsonl.4242.abc.tmp'), 'partial');
    const warnings: string[] = [];
    // epochs stays 1 (the run is complete): nothing to train, the run finishes at once
    const r = await train({ lr: 0.05, batchSize: 16, backend: 'cpu', keepCheckpoints: 5, epochs: 1 }, { ...quiet, warn: (l) => warnings.push(l), resume: run });
    r.model.dispose();
    expect(r.config.keepCheckpoints).toBe(5);
    expect(warnings).toEqual(['warning: removed 2 leftover temp file(s) of an interrupted write: checkpoints/ckpt-13.tmp, metrics.jsonl.4242.abc.tmp']);
    expect(existsSync(join(run, 'checkpoints', 'ckpt-13.tmp'))).toBe(false);
    expect(existsSync(join(run, 'metrics.jsonl.4242.abc.tmp'))).toBe(false);
    expect(cleanTempFiles(run)).toEqual([]);
  });

  it('--out /proc/x fails at once with the reason (no endless mkdir loop)', () => {
    // in a child process with a bound, so that a regression (a spinning mkdir -p) fails instead of hanging the suite
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@lm/source', join(PKG, 'src', 'cli.ts'), ...tinyFlags('/proc/lm-run/x')], { cwd: PKG, encoding: 'utf8', timeout: 120_000 });
    expect(r.signal, 'lm train --out /proc/... did not finish').toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe("lm train: cannot create the run folder '/proc/lm-run': the file system of '/proc' does not allow creating folders there; choose another --out");
  });
});

describe('OS errors are reported as what they are', () => {
  const mountTmpfs = (dir: string, opts: string): boolean => spawnSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir]).status === 0;

  it('a read-only file system is EROFS, not ENOENT', async (ctx) => {
    const dir = tmp('ro');
    if (!mountTmpfs(dir, 'ro,size=1m')) ctx.skip(); // needs root and mount(2): skipped where the test may not mount
    try {
      const e = await failure(train(tinyConfig(join(dir, 'run'), { epochs: 1 }), quiet));
      expect(e).toBeInstanceOf(FileError);
      expect(e.message).toBe(`cannot create the run folder '${join(dir, 'run')}': the file system is read-only (EROFS); choose a folder on a writable file system`);
    } finally {
      spawnSync('umount', [dir]);
    }
  });

  it('a full disk is ENOSPC, names the file, and leaves the previous checkpoint verified', async (ctx) => {
    const dir = tmp('full');
    if (!mountTmpfs(dir, 'size=96k')) ctx.skip();
    try {
      const run = join(dir, 'run');
      const e = await failure(train(tinyConfig(run, { epochs: 1, syntheticSize: 64, valSize: 16, checkpointEverySteps: 1, keepCheckpoints: 100 }), quiet));
      expect(e).toBeInstanceOf(FileError);
      expect(e.message).toMatch(new RegExp(`^cannot write a checkpoint in '${run}/checkpoints.*': no space left on the device \\(ENOSPC\\); free some space or choose another folder; the last verified checkpoint is intact$`));
      const choice = chooseCheckpoint(run);
      expect(choice.path).toBeDefined();
    } finally {
      spawnSync('umount', [dir]);
    }
  });
});

describe('permission denied', () => {
  // Root passes every permission check, so as root the run drops CAP_DAC_OVERRIDE (setpriv, util-linux) and meets
  // the folder's mode as its owner would; any other user meets it as it is.
  const asRoot = process.getuid?.() === 0;
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
  const available = process.platform === 'linux' && (!asRoot || setpriv !== undefined);
  if (!available) console.warn('run-safety: the EACCES case is skipped (needs Linux, and setpriv from util-linux when run as root)');

  it.skipIf(!available)('a folder the user may not write to is EACCES, named, and left as it was', () => {
    const root = tmp('eacces');
    const locked = join(root, 'locked');
    mkdirSync(locked);
    writeFileSync(join(locked, 'notes.txt'), 'kept\n');
    chmodSync(locked, 0o555);
    const before = snapshot(locked);
    const run = join(locked, 'run');
    const cli = [process.execPath, '--import', 'tsx', '--conditions=@lm/source', join(PKG, 'src', 'cli.ts'), ...tinyFlags(run)];
    const argv = asRoot ? [setpriv!, '--bounding-set=-dac_override,-dac_read_search', ...cli] : cli;
    const r = spawnSync(argv[0]!, argv.slice(1), { cwd: PKG, encoding: 'utf8' });
    chmodSync(locked, 0o755);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(
      `lm train: cannot create the run folder '${run}': permission denied (EACCES); choose a folder you may write to, or fix its permissions`,
    );
    expect(r.status).toBe(1);
    expect(snapshot(locked)).toEqual(before);
  });
});

describe('plugins and data', () => {
  it("a plugin whose register() throws is named", async () => {
    const dir = tmp('plugin');
    const file = join(dir, 'broken-plugin.mjs');
    writeFileSync(file, "export function register() { throw new Error('registry is full'); }\n");
    const e = await failure(train(tinyConfig(join(dir, 'run'), { plugins: [file] }), quiet));
    expect(e.message).toBe(`plugin '${file}' failed in register(registry): registry is full`);
  });

  it('an explicit --dataset cifar10 that is neither on disk nor downloadable is an error, never synthetic data', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { LM_DATA_DIR: tmp('empty-cache'), LM_CIFAR10_URL: 'http://127.0.0.1:9/cifar-10-binary.tar.gz', LM_CIFAR10: '', LM_CIFAR10_PATH: '', LM_SHARED_DIR: '' });
    try {
      for (const extra of [{ dataset: 'cifar10' as const }, { preset: 'cifar10-lm-resnet' as const, dataset: undefined }]) {
        const run = join(tmp('nocifar'), 'run');
        const cfg = { ...tinyConfig(run, { epochs: 1 }), ...extra, ...(extra.preset ? { dataset: undefined } : {}) };
        const e = await failure(train(cfg, quiet));
        expect(e).toBeInstanceOf(DataError);
        expect(e.message).toMatch(/^--dataset cifar10: CIFAR-10 not found locally and not downloadable \(download failed: .+\); give --data <archive or folder>, set \$LM_CIFAR10_PATH, or train on --dataset synthetic$/);
        expect(existsSync(join(run, 'checkpoints'))).toBe(false);
      }
    } finally {
      process.env = saved;
    }
  });

  it('symlinked class folders are followed; a link loop or two names for one folder are errors naming the link', async () => {
    const root = tmp('links');
    const real = join(root, 'elsewhere', 'n02');
    mkdirSync(real, { recursive: true });
    writeFileSync(join(real, 'a.JPEG'), 'x');
    const train = join(root, 'train');
    mkdirSync(join(train, 'n01'), { recursive: true });
    writeFileSync(join(train, 'n01', 'b.JPEG'), 'x');
    symlinkSync(real, join(train, 'n02'));
    const folders = await listClassFolders(train);
    expect([...folders.keys()]).toEqual(['n01', 'n02']);
    expect(folders.get('n02')).toEqual([join(train, 'n02', 'a.JPEG')]);
    symlinkSync(root, join(train, 'n03'));
    await expect(listClassFolders(train)).rejects.toThrow(`class folder ${join(train, 'n03')} is a symbolic link to ${root}, which contains ${train} itself (a loop); remove the link`);
    rmSync(join(train, 'n03'));
    symlinkSync(real, join(train, 'n04'));
    await expect(listClassFolders(train)).rejects.toThrow(`class folders ${join(train, 'n02')} and ${join(train, 'n04')} are the same folder`);
  });

  it('a split with no usable image is an error naming the folder (no images, or only unreadable ones)', async () => {
    const root = tmp('noimages');
    for (const c of ['n01', 'n02']) {
      mkdirSync(join(root, 'train', c), { recursive: true });
      writeFileSync(join(root, 'train', c, 'notes.txt'), 'not an image');
    }
    const cfg = (run: string) => tinyConfig(run, { dataset: 'imagenet', data: join(root, 'train'), imageSize: 32, batchSize: 2, epochs: 1 });
    const e = await failure(train(cfg(join(root, 'run1')), quiet));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toBe(`--data '${join(root, 'train')}': no image in its class folders (looked for .jpeg, .jpg, .png, .webp, .tif files); give the ImageNet training folder`);
    for (const c of ['n01', 'n02']) for (const i of [0, 1]) writeFileSync(join(root, 'train', c, `img${i}.JPEG`), 'garbage, not a JPEG');
    const origWarn = console.warn;
    console.warn = () => {};
    try {
      const u = await failure(train(cfg(join(root, 'run2')), quiet));
      expect(u).toBeInstanceOf(DataError);
      expect(u.message).toMatch(new RegExp(`^epoch 1: the training split of ImageNet from ${join(root, 'train')} .* gave no usable image \\(every image failed to read; see the warnings above\\)$`));
    } finally {
      console.warn = origWarn;
    }
  });
});

