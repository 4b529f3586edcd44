import * as tf from '@tensorflow/tfjs-core';
import type { StopFlag, StopSignal } from './stop-flag';

/** Thrown by a kernel dispatch inside {@link KernelGuard.abandonable} once a stop was requested. */
export class StepAbandoned extends Error {
  override name = 'StepAbandoned';
  constructor(readonly signal: StopSignal) {
    super(`${signal}: the step in progress was abandoned`);
  }
}

/**
 * Makes a stop request visible inside a long synchronous computation, on any backend: every kernel the active
 * backend has registered (TensorFlow.js dispatches each op by name through that registry) is wrapped so that,
 * while a guarded function runs, each dispatch first does one `Atomics.load` of the {@link StopFlag} and
 * throws {@link StepAbandoned} when a stop was asked. A dispatch that has begun runs to its end, and so does
 * an op made of other ops (`customGrad`, whose dispatches run at a kernel depth above 1: stopping inside one
 * would leave the tensors it saved for its gradient off the tape): the flag is honoured within one kernel's time.
 *
 * On the exception TensorFlow.js's engine ends every scope (`tidy`) and the gradient tape depth it opened
 * (its `scopedRun` has a catch that closes them); what it leaves is the tape's saved tensors (kept, freed only
 * when the backward pass completes), freed here. Tensors the guarded function had not returned yet are
 * freed by the `tidy` it runs in.
 */
export class KernelGuard {
  private armed = false;
  private readonly originals = new Map<string, tf.KernelConfig>();

  constructor(private readonly flag: StopFlag) {}

  /** Wraps the kernels of `backend` (default: the active one) not wrapped yet; call once its kernels are registered. */
  install(backend = tf.getBackend()): this {
    for (const config of tf.getKernelsForBackend(backend)) {
      const key = `${backend}/${config.kernelName}`;
      if (this.originals.has(key)) continue;
      const inner = config.kernelFunc;
      const guarded: tf.KernelFunc = (params) => {
        if (this.armed) {
          const signal = this.flag.requested();
          if (signal && tf.engine().state.kernelDepth <= 1) throw new StepAbandoned(signal);
        }
        return inner(params);
      };
      tf.unregisterKernel(config.kernelName, backend);
      tf.registerKernel({ ...config, kernelFunc: guarded });
      this.originals.set(key, config);
    }
    return this;
  }

  /** Puts the original kernels back. */
  uninstall(): void {
    for (const config of this.originals.values()) {
      if (tf.getKernel(config.kernelName, config.backendName)) tf.unregisterKernel(config.kernelName, config.backendName);
      tf.registerKernel(config);
    }
    this.originals.clear();
  }

  /**
   * Runs `fn` (the forward and backward pass of a step) so that a stop request ends it at the next kernel
   * dispatch with {@link StepAbandoned}, leaving no tensor of it behind. Do not put the optimizer's update
   * in `fn`: a step abandoned there would be half applied.
   */
  abandonable<T extends tf.TensorContainer>(fn: () => T): T {
    const signal = this.flag.requested();
    if (signal) throw new StepAbandoned(signal);
    this.armed = true;
    try {
      return tf.tidy(fn);
    } catch (e) {
      if (e instanceof StepAbandoned) freeAbandonedTape();
      throw e;
    } finally {
      this.armed = false;
    }
  }
}

/** The tensors the engine saved for a backward pass that will not run (engine.gradients frees them only after it). */
function freeAbandonedTape(): void {
  const state = tf.engine().state;
  if (state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) for (const t of node.saved ?? []) t.dispose();
  state.activeTape = null as unknown as typeof state.activeTape;
}
