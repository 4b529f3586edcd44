import { describe, expect, it } from 'vitest';
import { explainLoadError } from '../src/native';
import { launchInfo } from '../src/launcher';

describe('addon not built', () => {
  it('names the missing file and the commands that fix it', () => {
    const e = explainLoadError('/nowhere/lm_mpi.node', new Error('Cannot find module'));
    expect(e.message).toMatch(/not built \(missing file \/nowhere\/lm_mpi\.node\)/);
    expect(e.message).toMatch(/apt-get install -y libopenmpi-dev openmpi-bin/);
    expect(e.message).toMatch(/npm run build:native -w @lm\/mpi/);
  });
});

describe('launchInfo', () => {
  it('reads rank and size from mpirun, srun or PMI environments', () => {
    expect(launchInfo({ OMPI_COMM_WORLD_SIZE: '4', OMPI_COMM_WORLD_RANK: '2' })).toEqual({ launcher: 'mpirun', rank: 2, size: 4 });
    expect(launchInfo({ SLURM_NTASKS: '8', SLURM_PROCID: '7' })).toEqual({ launcher: 'slurm', rank: 7, size: 8 });
    expect(launchInfo({ PMI_SIZE: '3', PMI_RANK: '1' })).toEqual({ launcher: 'pmi', rank: 1, size: 3 });
    expect(launchInfo({})).toEqual({ launcher: 'none', rank: 0, size: 1 });
  });
});
