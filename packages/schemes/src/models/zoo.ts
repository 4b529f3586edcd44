import type { ModelDefinition, Registry } from '@lm/core-blocks';
import { buildNetwork } from '../build-network';
import { applyModelOptions, type ModelOptions, type NetworkBase } from './model-options';

/** A registry entry that builds `base` with the caller's options laid over it. */
export function networkModel(name: string, base: NetworkBase, description: string, paperParams?: number): ModelDefinition<ModelOptions> {
  return {
    description,
    paperParams,
    create: (options, registry) => buildNetwork(applyModelOptions(name, base, options, registry), registry),
  };
}

const CIFAR_WIDTHS = [16, 32, 64];

/** CIFAR ResNet of depth 6n + 2 (basic blocks) or 9n + 2 (bottlenecks): three stages of n steps. */
function cifarResNet(depth: number, block: string, scheme: string, shortcut: NetworkBase['shortcut']): NetworkBase {
  const perBlock = block.includes('bottleneck') ? 9 : 6;
  const n = (depth - 2) / perBlock;
  if (!Number.isInteger(n)) throw new Error(`CIFAR ResNet depth ${depth} is not ${perBlock}n + 2.`);
  return { stem: 'cifar', stemWidth: 16, stageWidths: CIFAR_WIDTHS, blocksPerStage: [n, n, n], block, scheme, shortcut };
}

/** Post-activation blocks with conv1x1-BN projections, or pre-activation ones with BN-ReLU-conv1x1 (the LM-ResNet authors'). */
type Activation = 'post' | 'pre';

/** CIFAR ResNeXt-29 (C x d): three stages of three grouped bottlenecks, outputs 256/512/1024. */
function cifarResNeXt29(cardinality: number, scheme: string, activation: Activation): NetworkBase {
  return {
    stem: 'cifar',
    stemWidth: 64,
    stageWidths: [64, 128, 256],
    blocksPerStage: [3, 3, 3],
    block: activation === 'pre' ? 'preact-resnext-bottleneck' : 'resnext-bottleneck',
    blockOptions: { cardinality, baseWidth: 64 },
    scheme,
    shortcut: activation === 'pre' ? 'projection-preact' : 'projection',
  };
}

function imagenetResNet(blocksPerStage: number[], scheme: string, activation: Activation): NetworkBase {
  return {
    stem: 'imagenet',
    stemWidth: 64,
    stageWidths: [64, 128, 256, 512],
    blocksPerStage,
    block: activation === 'pre' ? 'preact-bottleneck' : 'bottleneck',
    scheme,
    shortcut: activation === 'pre' ? 'projection-preact' : 'projection',
    numClasses: 1000,
  };
}

/** Trainable parameters in the paper's Table 2 (LM-ResNet paper), where it gives them. */
const PAPER_PARAMS: Record<string, number> = {
  resnet20: 0.27e6,
  resnet32: 0.46e6,
  resnet44: 0.66e6,
  resnet56: 0.85e6,
  resnet110: 1.7e6,
  'preact-resnet164': 2.55e6,
  'resnext29-8x64d': 34.4e6,
  'resnext29-16x64d': 68.1e6,
  'lm-resnext29-8x64d': 35.1e6,
  'lm-resnext29-16x64d': 68.8e6,
};

const IMAGENET_DEPTHS: Record<number, number[]> = { 50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3] };

/** Every model of the zoo, as registry entries. */
export function builtinModels(): Record<string, ModelDefinition<ModelOptions>> {
  const zoo: Record<string, ModelDefinition<ModelOptions>> = {};
  const add = (name: string, base: NetworkBase, description: string) => {
    zoo[name] = networkModel(name, base, description, PAPER_PARAMS[name]);
  };
  for (const d of [20, 32, 44, 56, 110]) {
    add(`resnet${d}`, cifarResNet(d, 'basic', 'forward-euler', 'A'), `CIFAR ResNet-${d} (He et al. 2015, option A shortcuts)`);
    add(`preact-resnet${d}`, cifarResNet(d, 'preact-basic', 'forward-euler', 'projection-preact'), `CIFAR pre-activation ResNet-${d}`);
    add(`lm-resnet${d}`, cifarResNet(d, 'preact-basic', 'linear-multi-step', 'projection-preact'), `CIFAR LM-ResNet-${d}`);
  }
  add('preact-resnet164', cifarResNet(164, 'preact-bottleneck', 'forward-euler', 'projection-preact'), 'CIFAR pre-activation ResNet-164 (bottlenecks)');
  add('lm-resnet164', cifarResNet(164, 'preact-bottleneck', 'linear-multi-step', 'projection-preact'), 'CIFAR LM-ResNet-164 (bottlenecks)');
  // The paper's LM-ResNeXt-29 and ImageNet LM-ResNets are pre-activation (its Tables 2 and 3); the baselines of the
  // same architecture are preact-*, and the post-activation LM variants keep explicit names.
  for (const c of [8, 16]) {
    add(`resnext29-${c}x64d`, cifarResNeXt29(c, 'forward-euler', 'post'), `CIFAR ResNeXt-29 (${c}x64d), post-activation (Xie et al. 2017)`);
    add(`preact-resnext29-${c}x64d`, cifarResNeXt29(c, 'forward-euler', 'pre'), `CIFAR pre-activation ResNeXt-29 (${c}x64d)`);
    add(`lm-resnext29-${c}x64d`, cifarResNeXt29(c, 'linear-multi-step', 'pre'), `CIFAR LM-ResNeXt-29 (${c}x64d), pre-activation as in the paper`);
    add(`postact-lm-resnext29-${c}x64d`, cifarResNeXt29(c, 'linear-multi-step', 'post'), `CIFAR LM-ResNeXt-29 (${c}x64d) on post-activation blocks`);
  }
  for (const d of [50, 101, 152]) add(`resnet${d}`, imagenetResNet(IMAGENET_DEPTHS[d]!, 'forward-euler', 'post'), `ImageNet ResNet-${d}, post-activation (torchvision's)`);
  for (const d of [50, 101]) {
    add(`preact-resnet${d}`, imagenetResNet(IMAGENET_DEPTHS[d]!, 'forward-euler', 'pre'), `ImageNet pre-activation ResNet-${d}`);
    add(`lm-resnet${d}`, imagenetResNet(IMAGENET_DEPTHS[d]!, 'linear-multi-step', 'pre'), `ImageNet LM-ResNet-${d}, pre-activation as in the paper`);
    add(`postact-lm-resnet${d}`, imagenetResNet(IMAGENET_DEPTHS[d]!, 'linear-multi-step', 'post'), `ImageNet LM-ResNet-${d} on post-activation bottlenecks`);
  }
  for (const d of [20, 56]) {
    add(`lm3-resnet${d}`, { ...cifarResNet(d, 'preact-basic', 'linear-k-step', 'projection-preact'), schemeOptions: { steps: 3 } }, `CIFAR LM-ResNet-${d} with the 3-step scheme: trainable a_1, a_2 (a_0 = 1 - a_1 - a_2), b = (1, 0, 0)`);
    add(`ab2-resnet${d}`, cifarResNet(d, 'preact-basic', 'adams-bashforth2', 'projection-preact'), `CIFAR pre-activation ResNet-${d} stepped by Adams-Bashforth 2`);
  }
  for (const d of [20, 32, 56, 110]) {
    add(`rk2-resnet${d}`, cifarResNet(d, 'preact-basic', 'runge-kutta2', 'projection-preact'), `CIFAR ResNet-${d} stepped by Runge-Kutta 2 (FractalNet reading)`);
    add(`polynet-resnet${d}`, cifarResNet(d, 'preact-basic', 'approx-backward-euler', 'projection-preact'), `CIFAR ResNet-${d} stepped by approximate backward Euler (PolyNet reading)`);
    add(`revnet${d}`, cifarResNet(d, 'preact-basic', 'revnet', 'projection-preact'), `CIFAR RevNet-${d}: reversible coupled forward Euler`);
  }
  return zoo;
}

export function registerBuiltinModels(registry: Registry): void {
  registry.registerMissing('model', builtinModels(), { provider: '@lm/schemes' });
}
