import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '@lm/core-blocks/node';
import type { Communicator } from '@lm/mpi';
import { resolveConfig, type TrainOverrides } from '../config';
import { DivergenceError, InterruptedError, OptionError } from '../errors';
import type { Io } from '../cli/io';
import { latestCheckpoint } from '../train/checkpoint';
import { train, type TrainResult } from '../train/loop';
import { DistributedContext } from './context';
import { RankMismatchError } from './fingerprint';

export interface DistributedTrainOptions {
  resume?: string | boolean;
  progress?: string;
  syncBn?: boolean;
  /** Receives the context once it exists (benchmarks read the allreduce timing). */
  onContext?: (ctx: DistributedContext) => void;
}

/** The run folder's record of how it was trained in parallel (read back on --resume). */
const DISTRIBUTED_FILE = 'distributed.json';

/** Exit codes of `lm` (cli/main.ts) for the errors every rank meets alike. */
const exitCode = (e: unknown) => (e instanceof OptionError ? 2 : e instanceof InterruptedError ? 130 : e instanceof DivergenceError ? 3 : 1);

/** Errors every rank meets alike: only rank 0 reports them. */
const SHARED_ERRORS = [OptionError, RankMismatchError, DivergenceError, InterruptedError];

async function communicator(): Promise<Communicator> {
  const mpi = await import('@lm/mpi');
  if (!mpi.isMpiAvailable()) throw new OptionError('--distributed', `--distributed needs MPI: ${mpi.mpiLoadError()!.message}`);
  return mpi.initMpi();
}

/** Rank 0's value of `mine`, on every rank. */
function agree(comm: Communicator, mine: string): string {
  return new TextDecoder().decode(comm.allgather(new TextEncoder().encode(mine))[0]);
}

/**
 * `lm train --distributed`: this process is one rank of an `mpirun -np N` / `srun` job. Rank 0 prints and
 * writes the run folder; the others are silent unless they fail alone. A rank that dies stops the others
 * with a message naming it (exit 1); the run continues from its last checkpoint with `--resume`, on any number of ranks.
 */
export async function trainDistributed(overrides: TrainOverrides, o: DistributedTrainOptions, io: Io): Promise<{ code: number; result?: TrainResult }> {
  const comm = await communicator();
  const lead = comm.rank === 0;
  const mine = { ...overrides };
  // The default run folder has a timestamp: every rank takes rank 0's.
  if (!o.resume && !mine.out) mine.out = agree(comm, resolveConfig(mine).out);
  const runDir = resolve(typeof o.resume === 'string' ? o.resume : mine.out!);
  const saved = o.resume && existsSync(join(runDir, DISTRIBUTED_FILE)) ? JSON.parse(readFileSync(join(runDir, DISTRIBUTED_FILE), 'utf8')) : {};
  const syncBn = o.syncBn ?? saved.syncBn ?? false;
  if (lead && !o.resume) {
    mkdirSync(runDir, { recursive: true });
    writeFileAtomic(join(runDir, DISTRIBUTED_FILE), JSON.stringify({ ranks: comm.size, syncBn }, null, 2));
  }
  const ctx = new DistributedContext(comm, { syncBn }).open();
  o.onContext?.(ctx);
  if (lead) io.out(`distributed: rank 0 of ${comm.size} (${comm.host}), global batch split over ${comm.size} ranks${syncBn ? ', synchronised batch norm' : ''}`);
  try {
    const result = await train(mine, {
      resume: o.resume,
      progress: lead ? ((o.progress as 'auto') ?? 'auto') : 'silent',
      log: lead ? io.out : () => {},
      handleSignals: false,
      distributed: ctx,
    });
    if (lead) writeFileAtomic(join(result.outDir, DISTRIBUTED_FILE), JSON.stringify({ ranks: comm.size, syncBn }, null, 2));
    comm.barrier();
    ctx.close();
    comm.finalize();
    return { code: 0, result };
  } catch (e) {
    ctx.close();
    const err = e as Error & { rank?: number };
    if (err?.name === 'MpiPeerError') {
      const last = latestCheckpoint(runDir);
      io.err(
        `lm train: rank ${err.rank} of ${comm.size} stopped (it died or was killed); rank ${comm.rank} ends the job.\n  ${err.message}\n` +
          `  Continue from ${last ? `the last checkpoint (${last})` : 'the start (no checkpoint yet)'} with: mpirun -np <ranks> lm train --distributed --resume ${runDir}`,
      );
      return { code: 1 };
    }
    if (!lead && SHARED_ERRORS.some((k) => e instanceof k)) return { code: exitCode(e) };
    if (!lead) io.err(`[rank ${comm.rank}]`);
    throw e;
  }
}
