import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findMpirun, isMpiAvailable, localMpirunArgs, mpiLoadError } from '@lm/mpi';
import { PKG, savedWeights, tmp, TINY_PLUGIN, until } from './helpers';

const NOBN_PLUGIN = join(PKG, 'test', 'fixtures', 'no-bn-model.ts');
const mpirun = findMpirun();
const skip = !mpirun ? 'mpirun not found (apt-get install openmpi-bin libopenmpi-dev)' : !isMpiAvailable() ? mpiLoadError()!.message : '';
if (skip) console.warn(`distributed training tests skipped: ${skip}`);

/** 96 synthetic images, global batch 16: 6 SGD steps (momentum, weight decay) per epoch. */
function flags(out: string, model: string, extra: string[] = []): string[] {
  const plugin = model === 'tiny-lm-nobn' ? NOBN_PLUGIN : TINY_PLUGIN;
  return [
    'train', '--plugin', plugin, '--model', model, '--dataset', 'synthetic', '--synthetic-size', '96', '--val-size', '40',
    '--epochs', '1', '--batch-size', '16', '--eval-batch-size', '16', '--lr', '0.05', '--warmup-epochs', '0', '--schedule', 'constant',
    '--backend', 'cpu', '--progress', 'lines', '--out', out, ...extra,
  ];
}

interface Ended {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `lm` from source (tsx, @lm/source) in one process, or as `np` ranks under mpirun (loopback only). */
function lm(args: string[], np?: number): { pid: number; done: Promise<Ended> } {
  const node = [process.execPath, '--import', 'tsx', '--conditions=@lm/source', join(PKG, 'src', 'cli.ts'), ...args];
  const [cmd, ...rest] = np ? [mpirun!, ...localMpirunArgs(np, node)] : node;
  const child = spawn(cmd!, rest, { cwd: PKG, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return { pid: child.pid!, done: new Promise((res) => child.on('close', (code) => res({ code, stdout, stderr }))) };
}

function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  expect(b.length).toBe(a.length);
  let m = 0;
  a.forEach((w, i) => w.forEach((x, j) => (m = Math.max(m, Math.abs(x - b[i]![j]!)))));
  return m;
}

/** The pid of rank `rank` among mpirun's children (read from each process's environment). */
function rankPid(mpirunPid: number, rank: number): number | undefined {
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== mpirunPid) continue;
      const env = readFileSync(`/proc/${p}/environ`, 'utf8').split('\0');
      if (env.includes(`OMPI_COMM_WORLD_RANK=${rank}`)) return Number(p);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

function midEpochCheckpoint(run: string): boolean {
  try {
    const name = readFileSync(join(run, 'checkpoints', 'latest'), 'utf8').trim();
    return JSON.parse(readFileSync(join(run, 'checkpoints', name, 'state.json'), 'utf8')).stepInEpoch > 0;
  } catch {
    return false;
  }
}

// Each test starts several node processes on a machine that may have 2 cores: generous time limits.
describe.skipIf(!!skip)('lm train --distributed on 2 ranks (mpirun -np 2, loopback)', { timeout: 400_000 }, () => {
  it('equals one process with the same global batch, to 1e-5: a model without batch norm, and an LM network with --sync-bn', async () => {
    const [single, dist, singleBn, distBn] = ['single', 'dist', 'single-bn', 'dist-bn'].map(tmp);
    const runs = [
      lm(flags(single!, 'tiny-lm-nobn')),
      lm(flags(dist!, 'tiny-lm-nobn', ['--distributed']), 2),
      lm(flags(singleBn!, 'tiny-lm')),
      lm(flags(distBn!, 'tiny-lm', ['--distributed', '--sync-bn']), 2),
    ];
    const ends = await Promise.all(runs.map((r) => r.done));
    ends.forEach((e) => expect(e.code, e.stderr).toBe(0));
    expect(ends[1]!.stdout).toMatch(/^distributed: rank 0 of 2/m);
    expect(maxDiff(savedWeights(join(single!, 'model')), savedWeights(join(dist!, 'model')))).toBeLessThan(1e-5);
    // with sync-BN the moving statistics agree too (they are weights of the saved model)
    expect(maxDiff(savedWeights(join(singleBn!, 'model')), savedWeights(join(distBn!, 'model')))).toBeLessThan(1e-5);
    // metrics are those of the global batch and of the whole held-out split, written once by rank 0
    const m1 = JSON.parse(readFileSync(join(single!, 'metrics.jsonl'), 'utf8').trim());
    const m2 = JSON.parse(readFileSync(join(dist!, 'metrics.jsonl'), 'utf8').trim());
    expect(m2.train.images).toBe(96);
    expect(m2.eval.images).toBe(40);
    expect(m2.train.loss).toBeCloseTo(m1.train.loss, 5);
    expect(m2.eval.loss).toBeCloseTo(m1.eval.loss, 5);
    expect(m2.eval.top1Error).toBe(m1.eval.top1Error);
  });

  it('kill -9 of rank 1 mid-epoch ends the job within seconds naming the rank; --resume on 1 rank ends at the uninterrupted weights', async () => {
    const [full, killed] = ['full', 'killed'].map(tmp);
    const extra = ['--distributed', '--checkpoint-every-steps', '2'];
    const a = lm(flags(full!, 'tiny-lm-nobn', extra), 2);
    const b = lm(flags(killed!, 'tiny-lm-nobn', extra), 2);
    await until(() => midEpochCheckpoint(killed!), 'a mid-epoch checkpoint of the distributed run');
    const victim = rankPid(b.pid, 1);
    expect(victim, 'pid of rank 1').toBeDefined();
    process.kill(victim!, 'SIGKILL');
    const killedAt = Date.now();
    const bEnd = await b.done;
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    expect(bEnd.code).not.toBe(0);
    expect(bEnd.stderr).toMatch(/lm train: rank 1 of 2 stopped \(it died or was killed\); rank 0 ends the job/);
    expect(bEnd.stderr).toMatch(/--resume /);
    expect(existsSync(join(killed!, 'model', 'model.json'))).toBe(false);

    const aEnd = await a.done;
    expect(aEnd.code, aEnd.stderr).toBe(0);
    const resumed = await lm(['train', '--distributed', '--resume', killed!, '--progress', 'lines'], 1).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/^resuming .*: epoch 1, step [2-5]\/6/m);
    expect(maxDiff(savedWeights(join(full!, 'model')), savedWeights(join(killed!, 'model')))).toBeLessThan(1e-5);
  });

  it('ranks started with different configurations stop at start, naming the rank and what differs', async () => {
    const out = tmp('mismatch');
    // rank 1 gets another seed through a per-rank environment variable read by the launcher wrapper script
    const node = [process.execPath, '--import', 'tsx', '--conditions=@lm/source', join(PKG, 'src', 'cli.ts')];
    const script = `exec ${node.join(' ')} ${flags(out, 'tiny-lm-nobn', ['--distributed']).join(' ')} --seed $OMPI_COMM_WORLD_RANK`;
    const child = spawn(mpirun!, localMpirunArgs(2, ['/bin/sh', '-c', script]), { cwd: PKG, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise((res) => child.on('close', res));
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/the ranks do not run the same training: rank 1 differs from rank 0 in seed, (data, )?model/);
    expect(existsSync(join(out, 'metrics.jsonl')) && readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim()).toBeFalsy();
  });
});
