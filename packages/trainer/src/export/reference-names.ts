import type * as tf from '@tensorflow/tfjs-core';
import type { CoefficientStorage } from '@lm/core-blocks';
import { createModel, listModels } from '@lm/schemes';
import { foldBatchNormRelu } from './fused-bn-relu';
import { ExportError, layerModuleName } from './safetensors';

/**
 * The networks that tools/paper-check/reference.py defines (the paper's CIFAR ResNets), recognised in a saved
 * model, and the PyTorch module names of that reference: conv1, bn1, layer{s}.{i}.{conv1,bn1,conv2,bn2},
 * layer{s}.0.shortcut.{bn,conv}, layer{s}.{i} for an LM step's k (or one_minus_k), bn, fc.
 */
export type ReferenceFamily = 'resnet' | 'preact' | 'lm';

export interface ReferenceArchitecture {
  /** The zoo name, e.g. `lm-resnet20`. */
  architecture: string;
  family: ReferenceFamily;
  depth: number;
  numClasses: number;
  padding: 'symmetric' | 'tf-same';
  kParametrisation: CoefficientStorage;
  perChannelK: boolean;
}

/** How `lm export` names the tensors: the reference's module names, or `<TensorFlow.js layer>.<parameter>`. */
export interface TorchNaming {
  kind: 'reference' | 'layers';
  /** The PyTorch module path of a TensorFlow.js layer. */
  moduleName(layer: string): string;
  /** For the safetensors header: what `reference.load` builds, or why the generic names were used. */
  metadata: Record<string, string>;
  architecture?: ReferenceArchitecture;
}

const ZOO_PREFIX: Record<ReferenceFamily, string> = { resnet: 'resnet', preact: 'preact-resnet', lm: 'lm-resnet' };

/** `s2_b1_f_conv1` -> `layer2.0.conv1` and the like; undefined for a layer the reference has no module for. */
export function referenceModuleName(layer: string): string | undefined {
  const fixed: Record<string, string> = { stem_conv: 'conv1', stem_bn: 'bn1', final_bn: 'bn', classifier: 'fc' };
  if (layer in fixed) return fixed[layer];
  const m = /^s([123])_b(\d+)_(.+)$/.exec(layer);
  if (!m) return undefined;
  const block = `layer${m[1]}.${Number(m[2]) - 1}`;
  const inner: Record<string, string> = {
    f_conv1: 'conv1',
    f_conv2: 'conv2',
    f_bn1: 'bn1', // post-activation: after conv1
    f_bn2: 'bn2',
    f_pre1_bn: 'bn1', // pre-activation: before conv1
    f_pre2_bn: 'bn2',
    shortcut_pre_bn: 'shortcut.bn',
    shortcut_conv: 'shortcut.conv',
  };
  if (m[3] === 'lm') return block; // the LM step's k_n is a parameter of its block
  return m[3]! in inner ? `${block}.${inner[m[3]!]}` : undefined;
}

interface LayerJson {
  class_name: string;
  config: { name?: string; layers?: LayerJson[]; batch_input_shape?: (number | null)[] } & Record<string, unknown>;
  inbound_nodes?: unknown;
}

/** Fields that say how weights start or train, not what the network computes: ignored when comparing. */
const NOT_ARCHITECTURE = /(_initializer|^init_min|^init_max|^seed|^momentum)$/;

function normalise(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalise);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (!NOT_ARCHITECTURE.test(k)) out[k] = normalise(x);
  return out;
}

/** The first place where `a` and `b` differ, as a readable path; undefined when equal. */
function firstDifference(a: unknown, b: unknown, path: string): string | undefined {
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const step = k === 'config' || k === 'layers' ? path : `${path}${path ? '.' : ''}${k}`;
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], step);
      if (d) return d;
    }
    return undefined;
  }
  const show = (v: unknown) => (v === undefined ? 'none' : JSON.stringify(v).replace(/^(.{80}).+$/s, '$1...'));
  return a === b ? undefined : `${path || 'the model'}: ${show(a)} here, ${show(b)} in the reference network`;
}

/** Layers by name, so that a difference names the layer rather than an index. */
function byName(layers: LayerJson[] = []): Record<string, unknown> {
  return Object.fromEntries(layers.map((l) => [l.config.name ?? '?', { ...l, config: { ...l.config, layers: l.config.layers && byName(l.config.layers) } }]));
}

function shapeKey(s: { name: string; shape: number[] }): string {
  return `${s.name} [${s.shape.join(',')}]`;
}

/**
 * The reference architecture a saved model is, or why it is none: its weights suggest a family and depth, and
 * the zoo's model of that name, built with the saved model's padding, k parametrisation, classes and input
 * size, must have the same layers, connections and settings (initialisers aside) and the same weights.
 */
export function recogniseReferenceArchitecture(
  topology: unknown,
  specs: readonly tf.io.WeightsManifestEntry[],
): { architecture: ReferenceArchitecture } | { reason: string } {
  const names = new Set(specs.map((s) => s.name));
  const blocks = new Set(specs.map((s) => /^s1_b(\d+)_/.exec(s.name)?.[1]).filter((b) => b !== undefined));
  const classifier = specs.find((s) => s.name === 'classifier/kernel');
  const root = (topology as { config?: { layers?: LayerJson[] } } | undefined)?.config?.layers;
  if (!blocks.size || !classifier || !names.has('stem_conv/kernel') || !Array.isArray(root)) {
    return { reason: 'its layers are not those of a CIFAR ResNet of the zoo (stem_conv, s<stage>_b<block>_*, classifier)' };
  }
  const ks = specs.filter((s) => /_lm\/(k|one_minus_k)$/.test(s.name));
  const family: ReferenceFamily = names.has('stem_bn/gamma') ? 'resnet' : ks.length ? 'lm' : 'preact';
  const depth = 6 * blocks.size + 2;
  const architecture = `${ZOO_PREFIX[family]}${depth}`;
  if (!listModels().includes(architecture)) return { reason: `its weights look like ${architecture}, which is not a model of the zoo` };
  const input = root.find((l) => l.class_name === 'InputLayer')?.config.batch_input_shape;
  const flat = (ls: LayerJson[]): LayerJson[] => ls.flatMap((l) => [l, ...flat(l.config.layers ?? [])]);
  const arch: ReferenceArchitecture = {
    architecture,
    family,
    depth,
    numClasses: classifier.shape[1]!,
    padding: flat(root).some((l) => l.class_name === 'ZeroPadding2D') ? 'symmetric' : 'tf-same',
    kParametrisation: ks.some((s) => s.name.endsWith('one_minus_k')) ? 'one-minus-k' : 'k',
    perChannelK: ks.some((s) => s.shape.reduce((a, b) => a * b, 1) > 1),
  };
  if (!input || input.length !== 4) return { reason: 'its input layer has no [batch, height, width, channels] shape' };
  const built = createModel(architecture, {
    numClasses: arch.numClasses,
    inputShape: input.slice(1) as [number, number, number],
    perChannelK: arch.perChannelK,
    conventions: { padding: arch.padding, kParametrisation: arch.kParametrisation },
  });
  try {
    const expected = (built.toJSON(null, false) as unknown as { config: { layers: LayerJson[] } }).config.layers;
    const d = firstDifference(normalise(byName(foldBatchNormRelu(root))), normalise(byName(foldBatchNormRelu(expected))), '');
    if (d) return { reason: `it differs from ${architecture} (${d})` };
    const ours = specs.map(shapeKey).sort();
    const theirs = built.weights.map((w) => shapeKey({ name: w.originalName, shape: w.shape as number[] })).sort();
    const missing = theirs.filter((w) => !ours.includes(w));
    const extra = ours.filter((w) => !theirs.includes(w));
    if (missing.length || extra.length) {
      return { reason: `its weights differ from ${architecture}'s (${[...extra.map((w) => `extra ${w}`), ...missing.map((w) => `missing ${w}`)].slice(0, 3).join('; ')})` };
    }
  } finally {
    built.dispose();
  }
  return { architecture: arch };
}

/** The naming `lm export` uses for a saved model: the reference's where the model is one of its networks. */
export function torchNaming(topology: unknown, specs: readonly tf.io.WeightsManifestEntry[]): TorchNaming {
  const r = recogniseReferenceArchitecture(topology, specs);
  if ('reason' in r) {
    return { kind: 'layers', moduleName: layerModuleName, metadata: { naming: 'layers', naming_reason: `not a network of tools/paper-check/reference.py: ${r.reason}` } };
  }
  const a = r.architecture;
  return {
    kind: 'reference',
    architecture: a,
    moduleName(layer) {
      const name = referenceModuleName(layer);
      if (name === undefined) throw new ExportError(`layer '${layer}' of ${a.architecture} has no module in the reference`);
      return name;
    },
    metadata: {
      naming: 'reference',
      architecture: a.architecture,
      num_classes: String(a.numClasses),
      padding: a.padding,
      k_parametrisation: a.kParametrisation,
      per_channel_k: String(a.perChannelK),
    },
  };
}
