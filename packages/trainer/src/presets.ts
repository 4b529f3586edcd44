import type { ModelOptions } from '@lm/schemes';
import { oneOf } from './errors';
import type { Schedule } from './optim/schedules';

/** A named training recipe: every field is a default that explicit options override. */
export interface Preset {
  description: string;
  model?: string;
  modelOptions?: ModelOptions;
  dataset?: DatasetName;
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: Schedule;
  warmupEpochs?: number;
  /** Images visited per training epoch (a shuffled subset each epoch); default all. */
  trainImages?: number;
  /** Validation images carved from the training set (CIFAR without a test split). */
  valSize?: number;
  /** Learning-rate scale and weight decay of the scheme coefficients k_n. */
  coefficientLrScale?: number;
  coefficientWeightDecay?: number;
  /** Held-out split evaluated each epoch ('auto': the test split when there is one, else a carved validation set). */
  evalSplit?: 'validation' | 'test' | 'auto';
}

export const DATASET_NAMES = ['cifar10', 'cifar100', 'imagenet', 'synthetic'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

const SGD = { momentum: 0.9, lr: 0.1 };

/** The recipes of the LM-ResNet paper (Lu et al. 2018, §4) plus a short `quick` run. */
export const PRESETS = {
  quick: {
    description: 'LM-ResNet-20 on CIFAR-10, 8 epochs of 20,000 images (/10 at epochs 5 and 7, 1 warm-up epoch): ~12 min at 250 images/s',
    model: 'lm-resnet20',
    dataset: 'cifar10',
    epochs: 8,
    batchSize: 128,
    ...SGD,
    weightDecay: 1e-4,
    schedule: { type: 'step', milestones: [5, 7], gamma: 0.1 },
    warmupEpochs: 1,
    trainImages: 20_000,
    valSize: 5000,
  },
  'cifar10-lm-resnet': {
    description: 'CIFAR-10 LM-ResNet: lr 0.1, /10 at epochs 80 and 120, 160 epochs, wd 1e-4, batch 128',
    model: 'lm-resnet56',
    modelOptions: { conventions: 'authors' },
    evalSplit: 'auto',
    dataset: 'cifar10',
    epochs: 160,
    batchSize: 128,
    ...SGD,
    weightDecay: 1e-4,
    schedule: { type: 'step', milestones: [80, 120], gamma: 0.1 },
  },
  'cifar100-lm-resnet': {
    description: 'CIFAR-100 LM-ResNet: lr 0.1, /10 at epochs 150 and 225, 300 epochs, wd 1e-4, batch 128',
    model: 'lm-resnet56',
    modelOptions: { conventions: 'authors' },
    evalSplit: 'auto',
    dataset: 'cifar100',
    epochs: 300,
    batchSize: 128,
    ...SGD,
    weightDecay: 1e-4,
    schedule: { type: 'step', milestones: [150, 225], gamma: 0.1 },
  },
  'cifar-lm-resnext': {
    description: 'CIFAR LM-ResNeXt-29: lr 0.1, /10 at epochs 150 and 225, 300 epochs, wd 5e-4, batch 128',
    model: 'lm-resnext29-8x64d',
    modelOptions: { conventions: 'authors' },
    evalSplit: 'auto',
    dataset: 'cifar10',
    epochs: 300,
    batchSize: 128,
    ...SGD,
    weightDecay: 5e-4,
    schedule: { type: 'step', milestones: [150, 225], gamma: 0.1 },
  },
  'cifar-stochastic-depth': {
    description: 'CIFAR LM-ResNet with stochastic depth (p_L 0.5): lr 0.1, /10 at epochs 250 and 375, 500 epochs, wd 1e-4',
    model: 'lm-resnet110',
    modelOptions: { stochasticDepth: { pL: 0.5 }, conventions: 'authors' },
    evalSplit: 'auto',
    dataset: 'cifar10',
    epochs: 500,
    batchSize: 128,
    ...SGD,
    weightDecay: 1e-4,
    schedule: { type: 'step', milestones: [250, 375], gamma: 0.1 },
  },
  imagenet: {
    description: 'ImageNet LM-ResNet-50: batch 256, lr 0.1, /10 at epochs 30 and 60, 90 epochs, wd 1e-4',
    model: 'lm-resnet50',
    modelOptions: { conventions: 'authors' },
    evalSplit: 'auto',
    dataset: 'imagenet',
    epochs: 90,
    batchSize: 256,
    ...SGD,
    weightDecay: 1e-4,
    schedule: { type: 'step', milestones: [30, 60], gamma: 0.1 },
  },
} satisfies Record<string, Preset>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** The preset of that name; an unknown name is an error listing the known ones. */
export function getPreset(name: string, option = '--preset'): Preset {
  return PRESETS[oneOf(option, name, PRESET_NAMES)] as Preset;
}
