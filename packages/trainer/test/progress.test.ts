import { describe, expect, it } from 'vitest';
import { createProgress, formatDuration } from '../src/progress';
import { trainHelp } from '../src/cli/train';
import { PRESET_NAMES } from '../src/presets';

function sink(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns: 140, write: (s: string) => writes.push(s) } };
}

const update = (step: number) => ({ epoch: 2, epochs: 8, step, steps: 100, imagesPerSecond: 251.3, loss: 1.23456, etaSeconds: 125 });

describe('progress display', () => {
  it('a single redrawn line with epoch, step, images/s, loss and ETA on a terminal', () => {
    let t = 0;
    const s = sink(true);
    const p = createProgress({ stream: s.stream, now: () => (t += 1000) });
    p.update(update(10));
    p.update(update(20));
    expect(s.writes).toHaveLength(2);
    for (const w of s.writes) {
      expect(w.startsWith('\r\x1b[2K[')).toBe(true);
      expect(w).not.toContain('\n');
    }
    expect(s.writes[1]).toContain('epoch 2/8 step 20/100 | 251.3 img/s | loss 1.2346 | ETA 2m05s');
    p.line('epoch 2/8 | done');
    expect(s.writes.slice(-2)).toEqual(['\r\x1b[2K', 'epoch 2/8 | done\n']);
  });

  it('plain lines, a few per epoch, when not a terminal', () => {
    let t = 0;
    const s = sink(false);
    const p = createProgress({ stream: s.stream, now: () => (t += 10) });
    for (let i = 1; i <= 100; i++) p.update(update(i));
    expect(s.writes.every((w) => w.endsWith('\n') && !w.includes('\r'))).toBe(true);
    expect(s.writes.map((w) => /step (\d+)/.exec(w)![1])).toEqual(['25', '50', '75']);
  });

  it('formats durations', () => {
    expect(formatDuration(59)).toBe('59s');
    expect(formatDuration(125)).toBe('2m05s');
    expect(formatDuration(3 * 3600 + 120)).toBe('3h02m');
  });

  it('lm train --help lists every preset', () => {
    const h = trainHelp();
    for (const n of PRESET_NAMES) expect(h).toContain(`  ${n}`);
    expect(h).not.toContain('--checkpoint-every-steps');
  });
});
