import { describe, expect, it } from 'vitest';
import { chooseBackend, type BackendProbes } from '../src/backend/select';
import { OptionError } from '../src/errors';

const ONEDNN_ERROR = new Error(
  '@lm/backend-onednn: the native addon is not built (missing file /x/onednn.node).\nFix: install oneDNN and build the addon:\n  sudo apt-get install -y libdnnl-dev',
);

function probes(o: { tf?: boolean; onednn?: boolean }): BackendProbes & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async tensorflow() {
      calls.push('tensorflow');
      return o.tf ? { ok: true, module: '@tensorflow/tfjs-node' } : { ok: false, reason: 'tfjs-node not installed' };
    },
    async onednn() {
      calls.push('onednn');
      return o.onednn ? { ok: true, threads: 2 } : { ok: false, error: ONEDNN_ERROR };
    },
  };
}

describe('backend selection', () => {
  it('auto prefers tensorflow when tfjs-node loads (and does not probe further)', async () => {
    const p = probes({ tf: true, onednn: true });
    const s = await chooseBackend('auto', p);
    expect(s.name).toBe('tensorflow');
    expect(s.line).toBe('backend: tensorflow (@tensorflow/tfjs-node loaded)');
    expect(p.calls).toEqual(['tensorflow']);
  });

  it('auto takes onednn next, saying why', async () => {
    const s = await chooseBackend('auto', probes({ onednn: true }));
    expect(s).toEqual({ name: 'onednn', line: 'backend: onednn (tfjs-node not installed; oneDNN addon loaded, 2 threads)' });
  });

  it('auto never falls back to cpu: an error naming --backend, how slow cpu is, the onednn load error and its fix', async () => {
    const err = await chooseBackend('auto', probes({})).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(OptionError);
    const m = (err as Error).message;
    expect(m.split('\n')).toHaveLength(1);
    expect(m).toContain('--backend auto found no fast backend (tfjs-node not installed; oneDNN addon not loaded: @lm/backend-onednn: the native addon is not built');
    expect(m).toContain('0.15 images/s');
    expect(m).toContain('Fix: install oneDNN and build the addon: sudo apt-get install -y libdnnl-dev');
    expect(m).toContain('npm rebuild @lm/backend-onednn');
    expect(m).toMatch(/pass --backend cpu$/);
  });

  it('an explicit choice that is unavailable is an error naming --backend and why', async () => {
    await expect(chooseBackend('tensorflow', probes({}))).rejects.toThrow(OptionError);
    await expect(chooseBackend('tensorflow', probes({}))).rejects.toThrow(/--backend tensorflow is unavailable: tfjs-node not installed/);
    await expect(chooseBackend('onednn', probes({}))).rejects.toThrow(/--backend onednn is unavailable: @lm\/backend-onednn: the native addon is not built .*Fix:/);
  });

  it('explicit choices that are available, and cpu, are taken as asked', async () => {
    expect((await chooseBackend('onednn', probes({ onednn: true }))).name).toBe('onednn');
    expect((await chooseBackend('tensorflow', probes({ tf: true }))).name).toBe('tensorflow');
    const p = probes({ tf: true });
    expect((await chooseBackend('cpu', p)).name).toBe('cpu');
    expect(p.calls).toEqual([]);
  });
});
