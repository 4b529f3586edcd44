import type { BlockDefinition } from '../block';
import { batchNorm, batchNormRelu, conv, relu } from '../layers/ops';

/** The original post-activation basic block (He et al. 2015): conv3x3-BN-ReLU-conv3x3-BN, ReLU after the sum. */
export const basicBlock: BlockDefinition = {
  description: 'post-activation basic block: conv3x3-bn-relu-conv3x3-bn, relu after the step',
  expansion: 1,
  preActivation: false,
  build(u, s) {
    let x = conv(u, { filters: s.outChannels, kernelSize: 3, stride: s.stride, name: `${s.name}_conv1`, seed: s.seed });
    x = batchNormRelu(x, `${s.name}_bn1`);
    x = conv(x, { filters: s.outChannels, kernelSize: 3, name: `${s.name}_conv2`, seed: s.seed });
    return batchNorm(x, `${s.name}_bn2`);
  },
  afterStep: (u, name) => relu(u, `${name}_out_relu`),
};
