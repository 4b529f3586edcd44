#!/usr/bin/env node
/**
 * Builds the optional libjpeg-turbo addon (build/Release/lmjpeg.node) with node-gyp.
 *   node scripts/build-native.mjs            exit 1 when libjpeg-turbo's headers are missing or the build fails
 *   node scripts/build-native.mjs --install  the package's `install` script: never fails the install; without the
 *                                            addon every image is decoded by sharp (slower), and loadImageNet says so.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lenient = process.argv.includes('--install');
const fix =
  '  sudo apt-get install -y g++ make python3 libjpeg62-turbo-dev   (Ubuntu: libjpeg-turbo8-dev)\n' +
  '  npm run build:native -w @lm/data-imagenet';

function stop(msg) {
  console.error(`@lm/data-imagenet: ${msg}`);
  if (!lenient) process.exit(1);
  console.error('@lm/data-imagenet: continuing without the libjpeg-turbo addon; sharp will decode every image.');
  process.exit(0);
}

if (process.env.LM_IMAGENET_SKIP_NATIVE) {
  console.log('@lm/data-imagenet: LM_IMAGENET_SKIP_NATIVE set, not building the libjpeg-turbo addon');
  process.exit(0);
}
const headers = ['/usr/include/jpeglib.h', '/usr/local/include/jpeglib.h', '/opt/homebrew/include/jpeglib.h'];
if (!headers.some((h) => existsSync(h))) stop(`libjpeg-turbo headers not found (looked for ${headers.join(', ')}). Install them, then build:\n${fix}`);

let gyp;
try {
  gyp = createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
} catch {
  gyp = undefined;
}
const [cmd, ...args] = gyp ? [process.execPath, gyp, 'rebuild', '-j', 'max'] : ['npx', 'node-gyp', 'rebuild', '-j', 'max'];
// Node's own headers when it ships them: no download needed on offline machines
const prefix = join(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
console.log('@lm/data-imagenet: building the libjpeg-turbo addon (node-gyp rebuild)');
const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) stop(`node-gyp failed (exit ${r.status ?? r.signal}). It needs a C++17 compiler, make, python3 and libjpeg-turbo:\n${fix}`);
console.log('@lm/data-imagenet: libjpeg-turbo addon built: build/Release/lmjpeg.node');
