import * as tf from '@tensorflow/tfjs-core';
import { OptionError } from '../errors';
import type { BackendChoice } from '../config';

export type BackendName = 'tensorflow' | 'onednn' | 'cpu';

export interface TensorflowProbe {
  ok: boolean;
  /** The package that loaded (`@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node`). */
  module?: string;
  reason?: string;
}

export interface OnednnProbe {
  ok: boolean;
  threads?: number;
  /** Why the addon did not load (first line: what is missing; later lines: the fix). */
  error?: Error;
}

/** How availability is discovered; injectable for tests. */
export interface BackendProbes {
  tensorflow(): Promise<TensorflowProbe>;
  onednn(): Promise<OnednnProbe>;
}

export interface BackendSelection {
  name: BackendName;
  /** One line saying which backend was chosen and why. */
  line: string;
}

const NODE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

/** The fix part of an explained load error (its lines after the first), as one line. */
function fixOf(e: Error): string {
  const rest = e.message.split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
  return rest.length ? rest.join(' ') : 'Fix: build the addon of @lm/backend-onednn (see its README)';
}

/** Real probes: import tfjs-node(-gpu) (registers `tensorflow`), import @lm/backend-onednn (registers `onednn`). */
export const defaultProbes: BackendProbes = {
  async tensorflow() {
    const reasons: string[] = [];
    for (const name of NODE_PACKAGES) {
      try {
        await import(/* @vite-ignore */ name);
        return { ok: true, module: name };
      } catch (e) {
        const code = (e as { code?: string }).code;
        reasons.push(code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' ? `${name} not installed` : `${name}: ${firstLine(String((e as Error).message))}`);
      }
    }
    const allMissing = reasons.every((r) => r.endsWith('not installed'));
    return { ok: false, reason: allMissing ? 'tfjs-node not installed' : reasons.join('; ') };
  },
  async onednn() {
    try {
      const m = (await import('@lm/backend-onednn')) as Record<string, unknown>;
      const available = typeof m.isOnednnAvailable === 'function' && (m.isOnednnAvailable as () => boolean)();
      if (available) {
        const info = typeof m.onednnInfo === 'function' ? (m.onednnInfo as () => { threads?: number })() : {};
        return { ok: true, threads: info.threads };
      }
      const err = typeof m.onednnLoadError === 'function' ? (m.onednnLoadError as () => Error | undefined)() : undefined;
      return { ok: false, error: err ?? new Error('@lm/backend-onednn did not register the onednn backend') };
    } catch (e) {
      return { ok: false, error: new Error(`@lm/backend-onednn failed to import: ${firstLine((e as Error).message)}`) };
    }
  },
};

/**
 * Chooses the backend. `auto`: tensorflow when tfjs-node(-gpu) imports, else onednn when its addon
 * loads; never the pure-JS cpu backend, which is only taken when asked for (`--backend cpu`): without a fast
 * backend `auto` is an error that says how slow cpu is and how to get onednn. An explicit choice that is
 * unavailable is an error naming --backend and why.
 */
export async function chooseBackend(requested: BackendChoice = 'auto', probes: BackendProbes = defaultProbes): Promise<BackendSelection> {
  if (requested === 'cpu') return { name: 'cpu', line: 'backend: cpu (requested with --backend cpu)' };
  if (requested === 'tensorflow') {
    const t = await probes.tensorflow();
    if (!t.ok) {
      throw new OptionError(
        '--backend',
        `--backend tensorflow is unavailable: ${t.reason}. Install @tensorflow/tfjs-node (or -gpu), or use --backend one of: auto, onednn, cpu`,
      );
    }
    return { name: 'tensorflow', line: `backend: tensorflow (requested; ${t.module} loaded)` };
  }
  if (requested === 'onednn') {
    const o = await probes.onednn();
    if (!o.ok) {
      throw new OptionError(
        '--backend',
        `--backend onednn is unavailable: ${firstLine(o.error?.message ?? 'addon not loaded')}. ${fixOf(o.error ?? new Error(''))}. Or use --backend one of: auto, tensorflow, cpu`,
      );
    }
    return { name: 'onednn', line: `backend: onednn (requested; oneDNN addon loaded${o.threads ? `, ${o.threads} threads` : ''})` };
  }
  const t = await probes.tensorflow();
  if (t.ok) return { name: 'tensorflow', line: `backend: tensorflow (${t.module} loaded)` };
  const o = await probes.onednn();
  if (o.ok) {
    return { name: 'onednn', line: `backend: onednn (${t.reason}; oneDNN addon loaded${o.threads ? `, ${o.threads} threads` : ''})` };
  }
  const e = o.error ?? new Error('oneDNN addon not loaded');
  throw new OptionError(
    '--backend',
    `--backend auto found no fast backend (${t.reason}; oneDNN addon not loaded: ${firstLine(e.message)}). ` +
      `Only the pure-JS cpu backend is left, ${CPU_SLOWNESS}. ${fixOf(e)}; ${HOW_TO_GET_ONEDNN}. ` +
      'To train on the cpu backend anyway, pass --backend cpu',
  );
}

/** How slow the pure-JS backend is (README, "Benchmarks"): said whenever auto would have fallen back to it. */
const CPU_SLOWNESS = 'which trains ResNet-20 at about 0.15 images/s on 2 cores (one step of batch 128 takes about 14 minutes; onednn is over 1000x faster)';
const HOW_TO_GET_ONEDNN =
  'the addon builds when oneDNN is found (apt-get install libdnnl-dev, or DNNL_ROOT=<prefix>) and the install script of ' +
  '@lm/backend-onednn may run (npm rebuild @lm/backend-onednn; see "Installing" in the README for npm, pnpm and bun)';

/** Chooses the backend, activates it with `tf.setBackend` and returns the choice. */
export async function selectBackend(requested: BackendChoice = 'auto', probes: BackendProbes = defaultProbes): Promise<BackendSelection> {
  const sel = await chooseBackend(requested, probes);
  if (sel.name === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  quietCpuBanner();
  const ok = await tf.setBackend(sel.name);
  if (!ok) throw new OptionError('--backend', `--backend ${sel.name} is registered but failed to initialise`);
  await tf.ready();
  return sel;
}

/** Activates the pure-JS cpu backend (for commands that only build models), without its banner. */
export async function useCpuBackend(): Promise<void> {
  await import('@tensorflow/tfjs-backend-cpu');
  quietCpuBanner();
  await tf.setBackend('cpu');
  await tf.ready();
}

/** The tfjs cpu backend prints a multi-line "install tfjs-node" banner on first use; we print our own line instead. */
function quietCpuBanner(): void {
  try {
    const b = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
    if (b && 'firstUse' in b) b.firstUse = false;
  } catch {
    /* not registered */
  }
}
