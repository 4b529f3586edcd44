import { defineConfig } from 'tsup';
import { packageBuild } from '../../tools/tsup.preset';

// tsup keeps dependencies and peers external, not optionalDependencies: the native parts are loaded at run time.
const external = ['@lm/backend-onednn', '@lm/data-imagenet', 'sharp'];

export default defineConfig([
  packageBuild({ external }),
  // The `lm` bin: ESM only, with a shebang; it does not clean the library build. Split into chunks so that the
  // main thread of `lm train` (a supervisor: supervisor/supervise.ts) loads none of what the worker that trains loads.
  packageBuild({ entry: { cli: 'src/cli.ts' }, format: ['esm'], dts: false, clean: false, splitting: true, external, banner: { js: '#!/usr/bin/env node' } }),
]);
