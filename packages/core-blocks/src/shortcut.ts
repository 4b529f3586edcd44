import type { ShortcutType } from './contracts';
import { ZeroPadShortcut } from './layers/zero-pad-shortcut';
import { batchNorm, bnRelu, conv } from './layers/ops';
import { applyLayer, channelsOf, type SymbolicTensor } from './symbolic';

export const SHORTCUT_TYPES: readonly ShortcutType[] = ['A', 'projection-preact', 'projection'];

export interface ShortcutSpec {
  type: ShortcutType;
  outChannels: number;
  stride: number;
  name: string;
  seed?: number;
}

/**
 * The shortcut S(u) of a step that changes shape: "A" zero-pads the subsampled identity (no weights),
 * "projection-preact" is BN-ReLU-conv1x1 (the LM-ResNet authors' choice), "projection" is conv1x1-BN.
 * Returns u itself when neither the stride nor the channels change.
 */
export function buildShortcut(u: SymbolicTensor, s: ShortcutSpec): SymbolicTensor {
  if (s.stride === 1 && channelsOf(u) === s.outChannels) return u;
  switch (s.type) {
    case 'A':
      return applyLayer(new ZeroPadShortcut({ outChannels: s.outChannels, stride: s.stride, name: `${s.name}_pad` }), u);
    case 'projection-preact':
      return conv(bnRelu(u, `${s.name}_pre`), { filters: s.outChannels, kernelSize: 1, stride: s.stride, name: `${s.name}_conv`, seed: s.seed });
    case 'projection':
      return batchNorm(conv(u, { filters: s.outChannels, kernelSize: 1, stride: s.stride, name: `${s.name}_conv`, seed: s.seed }), `${s.name}_bn`);
    default:
      throw new Error(`Unknown shortcut type '${String(s.type)}'. Known: ${SHORTCUT_TYPES.join(', ')}.`);
  }
}
