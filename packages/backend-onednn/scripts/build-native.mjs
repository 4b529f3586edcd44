#!/usr/bin/env node
/**
 * Builds the native addon (build/Release/onednn.node) with node-gyp.
 *   node scripts/build-native.mjs            fails (exit 1) when oneDNN is missing or the build fails
 *   node scripts/build-native.mjs --install  used by the package's `install` script: never fails the install;
 *                                            prints why and how to fix it, and importing the package explains again.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lenient = process.argv.includes('--install');
const header = '/usr/include/oneapi/dnnl/dnnl.hpp';

function fail(msg) {
  console.error(`@lm/backend-onednn: ${msg}`);
  if (lenient) {
    console.error('@lm/backend-onednn: continuing without the native addon; the `onednn` backend will be unavailable until it is built.');
    process.exit(0);
  }
  process.exit(1);
}

if (process.env.LM_ONEDNN_SKIP_BUILD) {
  console.log('@lm/backend-onednn: LM_ONEDNN_SKIP_BUILD set, not building the addon');
  process.exit(0);
}

if (process.platform !== 'linux') fail(`the oneDNN addon is built on Linux only (this is ${process.platform}).`);

if (!existsSync(header)) {
  fail(
    `oneDNN headers not found (${header}).\n` +
      'Install them, then build again:\n' +
      '  sudo apt-get install -y libdnnl-dev\n' +
      '  npm run build:native -w @lm/backend-onednn',
  );
}

// node-gyp from this package's dependencies (falls back to the one bundled with npm via npx).
let gyp;
try {
  gyp = createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
} catch {
  gyp = undefined;
}
const cmd = gyp ? process.execPath : 'npx';
const args = gyp ? [gyp, 'rebuild', '-j', 'max'] : ['node-gyp', 'rebuild', '-j', 'max'];
// Use the running Node's own headers when it ships them (distribution packages and official tarballs do),
// so no header download is needed (offline machines, CI without internet).
const prefix = join(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
console.log(`@lm/backend-onednn: building the native addon (${gyp ? 'node-gyp' : 'npx node-gyp'} rebuild)`);
const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  fail(
    `node-gyp failed (exit ${r.status ?? r.signal}). It needs a C++17 compiler, make and python3:\n` +
      '  sudo apt-get install -y build-essential python3 libdnnl-dev\n' +
      '  npm run build:native -w @lm/backend-onednn',
  );
}
console.log('@lm/backend-onednn: native addon built: build/Release/onednn.node');
