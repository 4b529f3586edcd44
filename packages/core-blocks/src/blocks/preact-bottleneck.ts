import type { BlockDefinition } from '../block';
import { bnRelu, conv } from '../layers/ops';
import { PLAIN_BOTTLENECK, RESNEXT_BOTTLENECK, type BottleneckOptions } from './bottleneck';

/**
 * Pre-activation bottleneck (He et al. 2016): BN-ReLU-conv1x1-BN-ReLU-conv3x3-BN-ReLU-conv1x1(4w). With cardinality
 * C and base width d the 3x3 convolution is grouped with inner width C·d·(width/64): the pre-activation ResNeXt
 * block the LM-ResNet paper wraps (C = 1, d = 64 is the plain bottleneck of inner width w).
 */
function preactBottleneck(description: string, defaults: BottleneckOptions): BlockDefinition<BottleneckOptions> {
  return {
    description,
    expansion: 4,
    preActivation: true,
    defaults,
    build(u, s) {
      const seed = s.seed;
      const { cardinality, baseWidth } = s.options;
      const inner = cardinality * Math.floor((s.width * baseWidth) / 64);
      let x = conv(bnRelu(u, `${s.name}_pre1`), { filters: inner, kernelSize: 1, name: `${s.name}_conv1`, seed });
      x = conv(bnRelu(x, `${s.name}_pre2`), { filters: inner, kernelSize: 3, stride: s.stride, groups: cardinality, name: `${s.name}_conv2`, seed });
      return conv(bnRelu(x, `${s.name}_pre3`), { filters: s.outChannels, kernelSize: 1, name: `${s.name}_conv3`, seed });
    },
  };
}

export const preactBottleneckBlock = preactBottleneck('pre-activation bottleneck: bn-relu-conv1x1-bn-relu-conv3x3-bn-relu-conv1x1, expansion 4', PLAIN_BOTTLENECK);

export const preactResnextBlock = preactBottleneck('pre-activation ResNeXt bottleneck: grouped 3x3 convolution of cardinality C, width d', RESNEXT_BOTTLENECK);
