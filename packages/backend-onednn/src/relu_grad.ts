/**
 * ReLU's gradient as one kernel: tfjs differentiates Relu as mul(dy, cast(step(x))), two passes and two
 * allocations per ReLU. On backends with `LmReluGrad` (onednn) the registered Relu gradient runs that kernel,
 * dx = x > 0 ? dy : 0; on every other backend it defers to the gradient it replaced.
 *   LmReluGrad inputs {dy, x} -> dx
 */
import { engine, getBackend, getGradient, getKernel, type GradConfig, type KernelFunc, registerGradient, registerKernel, type Tensor, type TensorInfo } from '@tensorflow/tfjs-core';

import { counted } from './coverage';
import { alloc, type Backend, f32, native, output } from './util';

export const RELU_GRAD = 'LmReluGrad';

function reluGradKernel(): KernelFunc {
  return (args) => {
    const backend = args.backend as Backend;
    const { dy, x } = args.inputs as Record<string, TensorInfo>;
    const dyv = f32(backend, dy), xv = f32(backend, x);
    if (!dyv || !xv || dyv.length !== xv.length) throw new Error(`${RELU_GRAD}: expected float32 dy and x of one size`);
    const dx = alloc(xv.length);
    native().reluGrad(dyv, xv, dx);
    return output(backend, [...x.shape], dx);
  };
}

let registered = false;

/** Registers LmReluGrad for onednn and the Relu gradient that uses it there. Idempotent. */
export function registerReluGrad(): void {
  if (registered) return;
  registered = true;
  registerKernel({ kernelName: RELU_GRAD, backendName: 'onednn', kernelFunc: counted(RELU_GRAD, reluGradKernel()) });
  const original: GradConfig | undefined = getGradient('Relu');
  registerGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      if (getKernel(RELU_GRAD, getBackend()) === undefined && original) return original.gradFunc(dy, saved, attrs);
      const [x] = saved;
      return { x: () => engine().runKernel(RELU_GRAD, { dy: dy as Tensor, x: x! }) as Tensor };
    },
  });
}
