import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readMetricsLog, type EpochRecord } from '../src/log';
import { lm, savedWeights, tinyFlags, tmp, until } from './helpers';

/** Everything of an epoch record that must not depend on interruptions (not timings). */
function comparable(r: EpochRecord) {
  return { epoch: r.epoch, globalStep: r.globalStep, lr: r.lr, train: r.train, eval: r.eval, k: r.k };
}

function midEpochCheckpoint(run: string): { step: number; epoch: number } | undefined {
  const latest = join(run, 'checkpoints', 'latest');
  if (!existsSync(latest)) return undefined;
  try {
    const name = readFileSync(latest, 'utf8').trim();
    const s = JSON.parse(readFileSync(join(run, 'checkpoints', name, 'state.json'), 'utf8'));
    return s.stepInEpoch > 0 ? { step: s.stepInEpoch, epoch: s.epoch } : undefined;
  } catch {
    return undefined;
  }
}

describe('never lose work', () => {
  it('kill -9 mid-epoch, then lm train --resume reaches the same weights and metrics as an uninterrupted run', async () => {
    const full = tmp('full');
    const killed = tmp('killed');
    // The uninterrupted run and the run to be killed start together (same seed, same flags).
    // tiny-lm-sd has stochastic depth: the resumed run must also restore the layers' random state.
    const a = lm([...tinyFlags(full, 'tiny-lm-sd'), '--checkpoint-every-steps', '5']);
    const b = lm([...tinyFlags(killed, 'tiny-lm-sd'), '--checkpoint-every-steps', '5']);
    // Wait until the second run has written a checkpoint in the middle of an epoch, then kill it hard.
    let seen: { step: number; epoch: number } | undefined;
    await until(() => (seen = midEpochCheckpoint(killed)) !== undefined, 'a mid-epoch checkpoint');
    b.child.kill('SIGKILL');
    const bEnd = await b.done;
    expect(bEnd.signal).toBe('SIGKILL');
    expect(existsSync(join(killed, 'model', 'model.json'))).toBe(false); // it did not finish
    expect(seen!.step).toBeGreaterThan(0);

    const aEnd = await a.done;
    expect(aEnd.code, aEnd.stderr).toBe(0);

    // Where the resume must start: the newest checkpoint on disk after the kill (it may be newer than `seen`).
    const latestName = readFileSync(join(killed, 'checkpoints', 'latest'), 'utf8').trim();
    const at = JSON.parse(readFileSync(join(killed, 'checkpoints', latestName, 'state.json'), 'utf8'));
    expect(at.stepInEpoch, 'the kill landed mid-epoch').toBeGreaterThan(0);
    expect(at.stepInEpoch).toBeLessThan(12);
    expect(at.globalStep).toBe(at.epoch * 12 + at.stepInEpoch);

    const resumed = await lm(['train', '--resume', killed, '--progress', 'lines']).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    const where = `epoch ${at.epoch + 1}, step ${at.stepInEpoch}/12 (global step ${at.globalStep})`;
    expect(resumed.stdout).toContain(`resuming ${join(killed, 'checkpoints', latestName)}: ${where}`);
    // and it trains on after that step: its first progress line is a later step of the same epoch
    const first = /epoch (\d+)\/2 step (\d+)\/12/.exec(resumed.stderr);
    expect(first?.[1], resumed.stderr).toBe(String(at.epoch + 1));
    expect(Number(first?.[2]), resumed.stderr).toBeGreaterThan(at.stepInEpoch);

    const wa = savedWeights(join(full, 'model'));
    const wb = savedWeights(join(killed, 'model'));
    expect(wb.length).toBe(wa.length);
    let maxDiff = 0;
    wa.forEach((w, i) => w.forEach((x, j) => (maxDiff = Math.max(maxDiff, Math.abs(x - wb[i]![j]!)))));
    // Same backend, same seed: bit-identical (the issue allows 1e-6).
    expect(maxDiff).toBe(0);

    const la = readMetricsLog(readFileSync(join(full, 'metrics.jsonl'), 'utf8')).map(comparable);
    const lb = readMetricsLog(readFileSync(join(killed, 'metrics.jsonl'), 'utf8')).map(comparable);
    expect(lb).toHaveLength(2);
    expect(lb).toEqual(la);
    // the checkpoint carried the random state of the four DropPath layers
    const state = JSON.parse(readFileSync(join(killed, 'checkpoints', readFileSync(join(killed, 'checkpoints', 'latest'), 'utf8').trim(), 'state.json'), 'utf8'));
    expect(Object.keys(state.randomState ?? {}).sort()).toEqual(['f0_drop', 'f1_drop', 'f2_drop']);
  });
});

describe('graceful stop', () => {
  it('SIGTERM finishes the step, writes a checkpoint, exits 130; --resume completes the run', async () => {
    const run = tmp('sigterm');
    const child = lm(tinyFlags(run));
    let stderr = '';
    child.child.stderr!.on('data', (d) => (stderr += d));
    await until(() => /step \d+\/12/.test(stderr), 'the first progress line');
    child.child.kill('SIGTERM');
    const end = await child.done;
    expect(end.code, end.stderr).toBe(130);
    expect(end.stderr).toMatch(new RegExp(`Interrupted by SIGTERM: checkpoint written to .*ckpt-\\d+; continue with: lm train --resume ${run}`));
    expect(existsSync(join(run, 'model'))).toBe(false);
    const resumed = await lm(['train', '--resume', run, '--progress', 'silent']).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(readMetricsLog(readFileSync(join(run, 'metrics.jsonl'), 'utf8')).map((r) => r.epoch)).toEqual([1, 2]);
  });
});
