import * as tfl from '@tensorflow/tfjs-layers';
import { CONV_INITS, CONV_PADDINGS, type CoefficientStorage, type ConvConventions } from '@lm/core-blocks';

/** How the LM coefficient is stored: k_n itself, or k' = 1 − k_n as the authors' code does. */
export type KParametrisation = CoefficientStorage;
export const K_PARAMETRISATIONS: readonly KParametrisation[] = ['k', 'one-minus-k'];

/**
 * The conventions a network is built with. They change no architecture, only where a strided convolution
 * samples (padding), how weights start (init) and which quantity weight decay pulls to 0 (k parametrisation:
 * towards k_n = 0 when k_n is stored, towards k_n = 1 when k' = 1 − k_n is).
 */
export interface ModelConventions extends ConvConventions {
  /** 'glorot-uniform' (tfjs, zero bias) or PyTorch's nn.Linear default, U(±1/√fan_in) for weight and bias. */
  classifierInit: 'glorot-uniform' | 'pytorch-default';
  kParametrisation: KParametrisation;
}

export const CLASSIFIER_INITS: readonly ModelConventions['classifierInit'][] = ['glorot-uniform', 'pytorch-default'];

/** `tfjs`: TensorFlow.js defaults; `authors`: the LM-ResNet authors' PyTorch code (2prime/LM-ResNet, MResNet.py). */
export const CONVENTION_PRESETS: Record<'tfjs' | 'authors', ModelConventions> = {
  tfjs: { padding: 'tf-same', init: 'tfjs-he-normal', classifierInit: 'glorot-uniform', kParametrisation: 'k' },
  authors: { padding: 'symmetric', init: 'he-normal-fan-out', classifierInit: 'pytorch-default', kParametrisation: 'one-minus-k' },
};

export type ConventionsSpec = keyof typeof CONVENTION_PRESETS | (Partial<ModelConventions> & { preset?: keyof typeof CONVENTION_PRESETS });

export class ConventionsError extends Error {
  override name = 'ModelConfigError';
}

function pick<T extends string>(where: string, option: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new ConventionsError(`${where}: option '${option}' must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}.`);
  }
  return value as T;
}

/** A preset name, or a preset (default `tfjs`) with single fields overridden, to the full set; errors name the field. */
export function resolveConventions(spec: ConventionsSpec | undefined, where = 'model'): ModelConventions {
  const presets = Object.keys(CONVENTION_PRESETS) as (keyof typeof CONVENTION_PRESETS)[];
  if (spec === undefined) return CONVENTION_PRESETS.tfjs;
  if (typeof spec === 'string') return CONVENTION_PRESETS[pick(where, 'conventions', spec, presets)];
  if (spec === null || typeof spec !== 'object') {
    throw new ConventionsError(`${where}: option 'conventions' must be ${presets.join(' or ')} or an object, got ${JSON.stringify(spec)}.`);
  }
  const known = ['preset', 'padding', 'init', 'classifierInit', 'kParametrisation'];
  for (const key of Object.keys(spec)) {
    if (!known.includes(key)) throw new ConventionsError(`${where}: unknown field 'conventions.${key}'. Fields: ${known.join(', ')}.`);
  }
  const base = CONVENTION_PRESETS[spec.preset === undefined ? 'tfjs' : pick(where, 'conventions.preset', spec.preset, presets)];
  return {
    padding: pick(where, 'conventions.padding', spec.padding ?? base.padding, CONV_PADDINGS),
    init: pick(where, 'conventions.init', spec.init ?? base.init, CONV_INITS),
    classifierInit: pick(where, 'conventions.classifierInit', spec.classifierInit ?? base.classifierInit, CLASSIFIER_INITS),
    kParametrisation: pick(where, 'conventions.kParametrisation', spec.kParametrisation ?? base.kParametrisation, K_PARAMETRISATIONS),
  };
}

/** Kernel and bias initialisers of the linear classifier on `fanIn` features. */
export function classifierInitializers(
  c: ModelConventions,
  fanIn: number,
  seed: number | undefined,
): { kernelInitializer: ReturnType<typeof tfl.initializers.zeros>; biasInitializer?: ReturnType<typeof tfl.initializers.zeros> } {
  if (c.classifierInit === 'glorot-uniform') return { kernelInitializer: tfl.initializers.glorotUniform({ seed }) };
  // nn.Linear.reset_parameters: kaiming_uniform(a = √5) gives bound √(6 / ((1 + 5) fan_in)) = 1/√fan_in; bias the same bound
  const bound = 1 / Math.sqrt(fanIn);
  return {
    kernelInitializer: tfl.initializers.randomUniform({ minval: -bound, maxval: bound, seed }),
    biasInitializer: tfl.initializers.randomUniform({ minval: -bound, maxval: bound, seed: seed === undefined ? undefined : seed + 1 }),
  };
}
