import type { BlockDefinition } from '../block';
import { batchNorm, batchNormRelu, conv, relu } from '../layers/ops';

export interface BottleneckOptions {
  /** Groups of the 3x3 convolution (ResNeXt's cardinality C); 1 for ResNet. */
  cardinality: number;
  /** Channels per group at the first stage (ResNeXt's d; 64 gives ResNet's plain bottleneck at C = 1). */
  baseWidth: number;
}

/**
 * Post-activation bottleneck conv1x1-BN-ReLU-conv3x3-BN-ReLU-conv1x1-BN with ReLU after the step.
 * With cardinality C and base width d, the 3x3 convolution is grouped with inner width C·d·(width/64):
 * the ResNeXt block (Xie et al. 2017); C = 1, d = 64 is the ImageNet ResNet bottleneck.
 */
function bottleneck(description: string, defaults: BottleneckOptions): BlockDefinition<BottleneckOptions> {
  return {
    description,
    expansion: 4,
    preActivation: false,
    defaults,
    build(u, s) {
      const { cardinality, baseWidth } = s.options;
      const seed = s.seed;
      const inner = cardinality * Math.floor((s.width * baseWidth) / 64);
      let x = conv(u, { filters: inner, kernelSize: 1, name: `${s.name}_conv1`, seed });
      x = batchNormRelu(x, `${s.name}_bn1`);
      x = conv(x, { filters: inner, kernelSize: 3, stride: s.stride, groups: cardinality, name: `${s.name}_conv2`, seed });
      x = batchNormRelu(x, `${s.name}_bn2`);
      x = conv(x, { filters: s.outChannels, kernelSize: 1, name: `${s.name}_conv3`, seed });
      return batchNorm(x, `${s.name}_bn3`);
    },
    afterStep: (u, name) => relu(u, `${name}_out_relu`),
  };
}

/** C = 1, d = 64: the plain bottleneck; C = 8, d = 64: the ResNeXt-29 8x64d block. */
export const PLAIN_BOTTLENECK: BottleneckOptions = { cardinality: 1, baseWidth: 64 };
export const RESNEXT_BOTTLENECK: BottleneckOptions = { cardinality: 8, baseWidth: 64 };

export const bottleneckBlock = bottleneck('post-activation bottleneck (ImageNet ResNet), expansion 4', PLAIN_BOTTLENECK);

export const resnextBlock = bottleneck('ResNeXt bottleneck: grouped 3x3 convolution of cardinality C, width d', RESNEXT_BOTTLENECK);
