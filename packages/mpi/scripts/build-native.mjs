#!/usr/bin/env node
/**
 * Builds the native addon (build/Release/lm_mpi.node) with node-gyp.
 *   node scripts/build-native.mjs            fails (exit 1) when MPI is missing or the build fails
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
const mpicc = process.env.MPICC || 'mpicc';

function fail(msg) {
  console.error(`@lm/mpi: ${msg}`);
  if (lenient) {
    console.error('@lm/mpi: continuing without the native addon; distributed training is unavailable until it is built.');
    process.exit(0);
  }
  process.exit(1);
}

if (process.env.LM_MPI_SKIP_BUILD) {
  console.log('@lm/mpi: LM_MPI_SKIP_BUILD set, not building the addon');
  process.exit(0);
}

if (process.platform !== 'linux') fail(`the MPI addon is built on Linux only (this is ${process.platform}).`);

const probe = spawnSync(mpicc, ['--version'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) {
  fail(
    `the MPI compiler wrapper '${mpicc}' was not found (set MPICC to use another one).\n` +
      'Install Open MPI, then build again:\n' +
      '  sudo apt-get install -y libopenmpi-dev openmpi-bin\n' +
      '  npm run build:native -w @lm/mpi',
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
// Use the running Node's own headers when it ships them, so no header download is needed (offline machines, CI).
const prefix = join(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
console.log(`@lm/mpi: building the native addon (${gyp ? 'node-gyp' : 'npx node-gyp'} rebuild)`);
const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  fail(
    `node-gyp failed (exit ${r.status ?? r.signal}). It needs a C++17 compiler, make, python3 and the MPI headers:\n` +
      '  sudo apt-get install -y build-essential python3 libopenmpi-dev openmpi-bin\n' +
      '  npm run build:native -w @lm/mpi',
  );
}
console.log('@lm/mpi: native addon built: build/Release/lm_mpi.node');
