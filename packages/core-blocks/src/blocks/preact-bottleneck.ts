import type { BlockDefinition } from '../block';
import { bnRelu, conv } from '../layers/ops';

/** Pre-activation bottleneck (He et al. 2016): BN-ReLU-conv1x1(w)-BN-ReLU-conv3x3(w)-BN-ReLU-conv1x1(4w). */
export const preactBottleneckBlock: BlockDefinition = {
  description: 'pre-activation bottleneck: bn-relu-conv1x1-bn-relu-conv3x3-bn-relu-conv1x1, expansion 4',
  expansion: 4,
  preActivation: true,
  build(u, s) {
    const seed = s.seed;
    let x = conv(bnRelu(u, `${s.name}_pre1`), { filters: s.width, kernelSize: 1, name: `${s.name}_conv1`, seed });
    x = conv(bnRelu(x, `${s.name}_pre2`), { filters: s.width, kernelSize: 3, stride: s.stride, name: `${s.name}_conv2`, seed });
    return conv(bnRelu(x, `${s.name}_pre3`), { filters: s.outChannels, kernelSize: 1, name: `${s.name}_conv3`, seed });
  },
};
