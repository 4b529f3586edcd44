/**
 * ReLU's gradient as one kernel: tfjs differentiates Relu as mul(dy, cast(step(x))), two passes and two
 * allocations per ReLU. On backends with `LmReluGrad` (onednn) the registered Relu gradient runs that kernel,
 * dx = y > 0 ? dy : 0; on every other backend it defers to the gradient it replaced.
 *   LmReluGrad inputs {dy, y} -> dx
 * The gradient keeps the ReLU's output y = relu(x) rather than its input: y > 0 exactly where x > 0 (and NaN
 * where x is NaN), so dx is the same, and the output is saved anyway as the next convolution's input, while the
 * input (a batch-norm or residual-sum output) is then freed at the end of the forward pass instead of living
 * until the end of the backward pass. The replaced gradient gets y too: step(y) = step(x).
 */
import { engine, getBackend, getGradient, getKernel, type GradConfig, type KernelFunc, registerGradient, registerKernel, type Tensor, type TensorInfo } from '@tensorflow/tfjs-core';

import { counted } from './coverage';
import { blockedOperands, blockedOutput, runsBlocked } from './layout';
import { alloc, type Backend, f32, native, output } from './util';

export const RELU_GRAD = 'LmReluGrad';

function reluGradKernel(): KernelFunc {
  return (args) => {
    const backend = args.backend as Backend;
    const { dy, y } = args.inputs as Record<string, TensorInfo>;
    const blocked = runsBlocked(backend, [dy, y]);
    const [dyv, yv] = blocked ? blockedOperands(backend, [dy, y]) : [f32(backend, dy), f32(backend, y)];
    if (!dyv || !yv || dyv.length !== yv.length) throw new Error(`${RELU_GRAD}: expected float32 dy and y of one size`);
    const dx = alloc(yv.length);
    native().reluGrad(dyv, yv, dx);
    return blocked ? blockedOutput(backend, [...y.shape], dx) : output(backend, [...y.shape], dx);
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
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      if (getKernel(RELU_GRAD, getBackend()) === undefined && original) return original.gradFunc(dy, saved, attrs);
      const [y] = saved;
      return { x: () => engine().runKernel(RELU_GRAD, { dy: dy as Tensor, y: y! }) as Tensor };
    },
  });
}
