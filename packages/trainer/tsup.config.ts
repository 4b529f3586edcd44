import { defineConfig } from 'tsup';
import { packageBuild } from '../../tools/tsup.preset';

export default defineConfig([
  packageBuild(),
  // The `lm` bin: ESM only, with a shebang; it does not clean the library build.
  packageBuild({ entry: { cli: 'src/cli.ts' }, format: ['esm'], dts: false, clean: false, banner: { js: '#!/usr/bin/env node' } }),
]);
