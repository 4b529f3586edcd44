import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

/** Which launcher started this process, from the environment it sets for each rank (no MPI call needed). */
export interface LaunchInfo {
  launcher: 'mpirun' | 'slurm' | 'pmi' | 'none';
  rank: number;
  size: number;
}

function int(v: string | undefined): number | undefined {
  const n = Number.parseInt(v ?? '', 10);
  return Number.isFinite(n) ? n : undefined;
}

/** Open MPI's mpirun (OMPI_COMM_WORLD_*), Slurm's srun (SLURM_PROCID/SLURM_NTASKS), a PMI launcher (PMI_*), or none. */
export function launchInfo(env: NodeJS.ProcessEnv = process.env): LaunchInfo {
  const ompiSize = int(env.OMPI_COMM_WORLD_SIZE);
  if (ompiSize !== undefined) return { launcher: 'mpirun', rank: int(env.OMPI_COMM_WORLD_RANK) ?? 0, size: ompiSize };
  const slurmSize = int(env.SLURM_NTASKS) ?? int(env.SLURM_NPROCS);
  if (slurmSize !== undefined && env.SLURM_PROCID !== undefined) return { launcher: 'slurm', rank: int(env.SLURM_PROCID) ?? 0, size: slurmSize };
  const pmiSize = int(env.PMI_SIZE) ?? int(env.PMIX_SIZE);
  if (pmiSize !== undefined) return { launcher: 'pmi', rank: int(env.PMI_RANK) ?? int(env.PMIX_RANK) ?? 0, size: pmiSize };
  return { launcher: 'none', rank: 0, size: 1 };
}

/** The mpirun (Open MPI) found on PATH, or undefined. */
export function findMpirun(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const p = join(dir, 'mpirun');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/**
 * Arguments of `mpirun` for `np` ranks on this machine only: loopback/shared memory transports, no ssh,
 * as root when we are root, more ranks than cores allowed. `command` follows, e.g. [process.execPath, 'script.js'].
 */
export function localMpirunArgs(np: number, command: string[], env: Record<string, string> = {}): string[] {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  return [
    '-np', String(np),
    ...(root ? ['--allow-run-as-root'] : []),
    '--oversubscribe',
    '--bind-to', 'none',
    '--mca', 'btl', 'self,vader,tcp',
    '--mca', 'btl_tcp_if_include', 'lo',
    '--mca', 'oob_tcp_if_include', 'lo',
    '--mca', 'plm', 'isolated',
    ...Object.entries(env).flatMap(([k, v]) => ['-x', `${k}=${v}`]),
    ...command,
  ];
}
