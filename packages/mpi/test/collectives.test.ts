import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findMpirun, isMpiAvailable, localMpirunArgs, mpiLoadError } from '../src/index';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'collectives.ts');
const mpirun = findMpirun();
const skip = !mpirun ? 'mpirun not found (apt-get install openmpi-bin libopenmpi-dev)' : !isMpiAvailable() ? mpiLoadError()!.message : '';
if (skip) console.warn(`@lm/mpi tests skipped: ${skip}`);

function run(np: number, env: Record<string, string> = {}) {
  const r = spawnSync(mpirun!, localMpirunArgs(np, [process.execPath, '--import', 'tsx', FIXTURE], env), { encoding: 'utf8', timeout: 60_000 });
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  return { status: r.status, lines: lines.sort((a, b) => a.rank - b.rank), stderr: r.stderr, stdout: r.stdout };
}

describe.skipIf(!!skip)('collectives on 2 ranks (mpirun, loopback)', () => {
  it('allreduce (sum float32/float64, max int32), broadcast and allgather give every rank the same, correct result', () => {
    const r = run(2);
    expect(r.status, r.stderr).toBe(0);
    expect(r.lines).toHaveLength(2);
    for (const l of r.lines) {
      expect(l.size).toBe(2);
      expect(l.f32).toEqual([3, -1, 1]);
      expect(l.f64).toBeCloseTo(3e-12, 20);
      expect(l.i32max).toBe(7);
      expect(l.bcast).toEqual([42, 42, 42, 42]);
      expect(l.gathered).toEqual(['r', 'rr']);
    }
  });

  it('a rank killed with SIGKILL makes rank 0 stop with an error naming it, within seconds, instead of hanging', () => {
    const r = run(2, { LM_TEST_DIE: '1' });
    expect(r.status).not.toBe(0);
    const rank0 = r.lines.find((l) => l.rank === 0);
    expect(rank0, r.stdout + r.stderr).toBeDefined();
    expect(rank0.error).toBe('MpiPeerError');
    expect(rank0.peer).toBe(1);
    expect(rank0.message).toMatch(/rank 1 \(pid \d+ on .*\) died/);
    expect(rank0.ms).toBeLessThan(5000);
  });
});

describe('without a launcher', () => {
  it.skipIf(!!skip)('is a world of one rank', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', FIXTURE], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const l = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(l).toMatchObject({ size: 1, f32: [1, 0, 0.5], i32max: 0, bcast: [-1, -1, -1, -1], gathered: ['r'] });
  });
});
