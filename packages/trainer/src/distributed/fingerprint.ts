import { createHash } from 'node:crypto';
import type { Communicator } from '@lm/mpi';
import type { RunFacts } from './hooks';

/** Settings that may differ between ranks: where files go and which backend computes (e.g. GPU and CPU nodes). */
const PER_RANK_SETTINGS = new Set(['out', 'backend', 'data', 'valData', 'checkpointMinutes', 'progress']);

const digest = (v: unknown) => createHash('sha256').update(typeof v === 'string' ? v : JSON.stringify(v)).digest('hex').slice(0, 16);

/** Sum and sum of squares, in float64: a fingerprint of values that any change of data or weights alters. */
function moments(values: ArrayLike<number>): [number, number] {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < values.length; i++) {
    s += values[i]!;
    s2 += values[i]! * values[i]!;
  }
  return [s, s2];
}

/**
 * One digest per thing every rank must agree on: each config field (but per-rank settings), the training data
 * (size and the first batch of the file order), the model (weight shapes and values) and the resume point.
 */
export async function runFingerprint(run: RunFacts): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(run.config)) if (!PER_RANK_SETTINGS.has(k)) out[`config.${k}`] = digest(v ?? null);
  const probe = Math.min(64, run.train.size);
  let data: unknown = { size: run.train.size, trainSize: run.trainSize };
  if (probe > 0) {
    for await (const b of run.train.batches({ batchSize: probe, shuffle: false, augment: false, prefetch: false })) {
      data = { ...(data as object), x: moments(b.xs.dataSync()), labels: Array.from(b.labels) };
      b.xs.dispose();
      b.ys.dispose();
      break;
    }
  }
  out.data = digest(data);
  out.model = digest(run.model.weights.map((w) => [w.shape, moments(w.read().dataSync() as Float32Array)]));
  out.resume = digest({ step: run.globalStep, from: run.resumedFrom ? run.resumedFrom.split('/').pop() : null });
  return out;
}

/** Throws, on every rank alike, when some rank's fingerprint differs from rank 0's; the message names ranks and fields. */
export function checkFingerprints(comm: Pick<Communicator, 'allgather'>, mine: Record<string, string>): void {
  const all = comm.allgather(new TextEncoder().encode(JSON.stringify(mine))).map((b) => JSON.parse(new TextDecoder().decode(b)) as Record<string, string>);
  const ref = all[0]!;
  const problems: string[] = [];
  all.forEach((fp, r) => {
    if (r === 0) return;
    const keys = [...new Set([...Object.keys(ref), ...Object.keys(fp)])].filter((k) => ref[k] !== fp[k]);
    if (keys.length) problems.push(`rank ${r} differs from rank 0 in ${keys.map((k) => k.replace(/^config\./, '')).join(', ')}`);
  });
  if (problems.length) {
    throw new RankMismatchError(
      `the ranks do not run the same training: ${problems.join('; ')}. Start every rank with the same command, plugins and data ` +
        '(model, seed and data must agree; a resumed run must see the same checkpoint).',
    );
  }
}

export class RankMismatchError extends Error {
  override name = 'RankMismatchError';
}
