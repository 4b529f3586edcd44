import type { BlockDefinition } from '../block';
import type { Registry } from '../registry';
import { basicBlock } from './basic';
import { bottleneckBlock, resnextBlock } from './bottleneck';
import { preactBasicBlock } from './preact-basic';
import { preactBottleneckBlock, preactResnextBlock } from './preact-bottleneck';

/** The residual branches that ship with @lm/core-blocks. */
export const builtinBlocks: Record<string, BlockDefinition<any>> = {
  basic: basicBlock,
  'preact-basic': preactBasicBlock,
  'preact-bottleneck': preactBottleneckBlock,
  bottleneck: bottleneckBlock,
  'resnext-bottleneck': resnextBlock,
  'preact-resnext-bottleneck': preactResnextBlock,
};

export function registerBuiltinBlocks(registry: Registry): void {
  registry.registerMissing('block', builtinBlocks, { provider: '@lm/core-blocks' });
}
