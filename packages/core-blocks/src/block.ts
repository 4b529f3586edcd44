import * as tfl from '@tensorflow/tfjs-layers';
import type { EntryMetadata } from './contracts';
import type { SymbolicTensor } from './symbolic';

/** What a residual branch f(u) must produce, as decided by the model builder. */
export interface BranchSpec<O = Record<string, unknown>> {
  /** Channels of u (NHWC, last axis). */
  inChannels: number;
  /** The stage's base width ("planes"); a bottleneck's inner width. */
  width: number;
  /** Channels of f(u): `width * expansion` unless a scheme asks otherwise (RevNet's halves). */
  outChannels: number;
  /** Spatial stride of f: 1 keeps H and W, 2 halves them. */
  stride: number;
  /** Unique prefix for the names of the branch's layers. */
  name: string;
  /** Seed of the weight initialisers (undefined: random). */
  seed?: number;
  /** Block-specific options (cardinality, bottleneck width...), defaults merged in. */
  options: O;
}

/**
 * A residual branch f(u): a ResNet-like block without its shortcut. Any registered block works in any
 * scheme, because a scheme only ever calls `build` through {@link buildBranch}.
 */
export interface BlockDefinition<O = Record<string, unknown>> extends EntryMetadata {
  /** outChannels = width * expansion (1 for basic blocks, 4 for bottlenecks). */
  expansion: number;
  /** Whether the block expects pre-activation networks (final BN-ReLU before pooling). */
  preActivation: boolean;
  defaults?: O;
  /** Builds f(u) on a symbolic input of shape [H, W, inChannels]; returns [H/stride, W/stride, outChannels]. */
  build(u: SymbolicTensor, spec: BranchSpec<O>): SymbolicTensor;
  /** Applied to the stepped state, e.g. the original ResNet's ReLU after the addition. */
  afterStep?(u: SymbolicTensor, name: string): SymbolicTensor;
}

export class BranchShapeError extends Error {
  override name = 'BranchShapeError';
}

/**
 * Builds f as a sub-model with its own input so that a scheme can apply the same weights several times
 * (PolyNet's F(F(u))) or invert it (RevNet). The output shape is checked against the spec.
 */
export function buildBranch<O>(
  blockName: string,
  block: BlockDefinition<O>,
  inputShape: [number, number, number],
  spec: BranchSpec<O>,
): tfl.LayersModel {
  const input = tfl.input({ shape: inputShape, name: `${spec.name}_in` });
  const output = block.build(input, spec);
  const [h, w] = inputShape;
  const expected = [Math.ceil(h / spec.stride), Math.ceil(w / spec.stride), spec.outChannels];
  const got = output.shape.slice(1);
  if (got.length !== 3 || got.some((d, i) => d !== expected[i])) {
    throw new BranchShapeError(
      `Block '${blockName}' built f(u) of shape [${got.join(', ')}] for input [${inputShape.join(', ')}] ` +
        `with stride ${spec.stride}; expected [${expected.join(', ')}] (outChannels = ${spec.outChannels}).`,
    );
  }
  return tfl.model({ inputs: input, outputs: output, name: spec.name });
}
