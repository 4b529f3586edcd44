/**
 * CPU share per kernel: wraps every kernel registered for a backend so that each dispatch adds its wall time and
 * its process CPU time (user + system, all threads) to its kernel's account. A share of 2 on 2 cores means the
 * kernel kept both cores busy; 1 means it ran on one. Time is exclusive: a kernel that dispatches another is
 * not charged for the inner one. What the step spends outside any kernel is its total minus the kernels' sum.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface KernelShare {
  kernel: string;
  calls: number;
  wallMs: number;
  cpuMs: number;
}

interface Account { calls: number; wall: number; cpu: number }

const cpuNowMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const shapesOf = (inputs: tf.NamedTensorInfoMap) =>
  Object.values(inputs).map((t) => (t ? `[${t.shape.join(',')}]` : '-')).join(' ');

/**
 * Wraps the kernels of `backendName`; `measure(f)` runs f and returns every kernel's account and the totals;
 * `restore()` unwraps them.
 * With `byShape`, each kernel's account is split by the shapes of its inputs (`Conv2DBackpropInput [128,16,16,32] …`).
 */
export function instrumentKernels(backendName: string, byShape = false) {
  const accounts = new Map<string, Account>();
  // The open dispatches, innermost last, each with the time and CPU already charged to its inner kernels.
  const open: Array<{ innerWall: number; innerCpu: number }> = [];
  const originals = tf.getKernelsForBackend(backendName);
  for (const config of originals) {
    const inner = config.kernelFunc;
    tf.unregisterKernel(config.kernelName, backendName);
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        const frame = { innerWall: 0, innerCpu: 0 };
        open.push(frame);
        const w0 = performance.now(), c0 = cpuNowMs();
        try {
          return inner(args);
        } finally {
          const wall = performance.now() - w0, cpu = cpuNowMs() - c0;
          open.pop();
          const name = byShape ? `${config.kernelName} ${shapesOf(args.inputs)}` : config.kernelName;
          const acc = accounts.get(name) ?? { calls: 0, wall: 0, cpu: 0 };
          acc.calls++;
          acc.wall += wall - frame.innerWall;
          acc.cpu += cpu - frame.innerCpu;
          accounts.set(name, acc);
          const parent = open[open.length - 1];
          if (parent) {
            parent.innerWall += wall;
            parent.innerCpu += cpu;
          }
        }
      },
    });
  }
  return {
    measure(f: () => void): { kernels: KernelShare[]; totalWallMs: number; totalCpuMs: number } {
      accounts.clear();
      const w0 = performance.now(), c0 = cpuNowMs();
      f();
      const totalWallMs = performance.now() - w0, totalCpuMs = cpuNowMs() - c0;
      const kernels = [...accounts.entries()]
        .map(([kernel, a]) => ({ kernel, calls: a.calls, wallMs: a.wall, cpuMs: a.cpu }))
        .sort((x, y) => y.wallMs - x.wallMs);
      return { kernels, totalWallMs, totalCpuMs };
    },
    /** Registers the kernels as they were before. */
    restore(): void {
      for (const config of originals) {
        tf.unregisterKernel(config.kernelName, backendName);
        tf.registerKernel(config);
      }
    },
  };
}
