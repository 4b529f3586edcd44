import type { BlockDefinition } from '../block';
import { bnRelu, conv } from '../layers/ops';

/** Pre-activation basic block (He et al. 2016): BN-ReLU-conv3x3-BN-ReLU-conv3x3. */
export const preactBasicBlock: BlockDefinition = {
  description: 'pre-activation basic block: bn-relu-conv3x3-bn-relu-conv3x3',
  expansion: 1,
  preActivation: true,
  build(u, s) {
    let x = bnRelu(u, `${s.name}_pre1`);
    x = conv(x, { filters: s.outChannels, kernelSize: 3, stride: s.stride, name: `${s.name}_conv1`, seed: s.seed });
    x = bnRelu(x, `${s.name}_pre2`);
    return conv(x, { filters: s.outChannels, kernelSize: 3, name: `${s.name}_conv2`, seed: s.seed });
  },
};
