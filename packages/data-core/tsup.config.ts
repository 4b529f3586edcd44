import { defineConfig } from 'tsup';
import { packageBuild } from '../../tools/tsup.preset';

export default defineConfig(packageBuild());
