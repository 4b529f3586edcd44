import { defineConfig } from 'tsup';
import { packageBuild } from '../../tools/tsup.preset';

// shims: import.meta.url / __dirname in both the ESM and CJS builds (the addon is located relative to the module).
export default defineConfig(packageBuild({ shims: true }));
