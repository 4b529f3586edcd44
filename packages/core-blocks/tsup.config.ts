import { defineConfig } from 'tsup';
import { packageBuild } from '../../tools/tsup.preset';

// Two entries: the browser-safe main entry and the Node-only `./node` (file I/O, plugin loading), which imports
// the main entry by the package's own name instead of bundling a second copy of it.
export default defineConfig(packageBuild({ entry: ['src/index.ts', 'src/node.ts'], external: ['@lm/core-blocks'] }));
