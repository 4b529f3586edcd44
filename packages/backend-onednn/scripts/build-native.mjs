#!/usr/bin/env node
/**
 * Builds the native addon (build/Release/onednn.node) with node-gyp.
 *   node scripts/build-native.mjs            fails (exit 1) when oneDNN or a build tool is missing or the build fails
 *   node scripts/build-native.mjs --install  used by the package's `install` script: never fails the install;
 *                                            prints why and how to fix it, and importing the package explains again.
 *
 * oneDNN is found, in this order, through LM_DNNL_INCLUDE (+ LM_DNNL_LIB), DNNL_ROOT (or oneAPI's DNNLROOT),
 * `pkg-config dnnl`, then /usr and /usr/local. node-gyp is this package's dev dependency, else the one npm or
 * pnpm runs install scripts with (npm_config_node_gyp), else `npx node-gyp`: only needed to build.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lenient = process.argv.includes('--install');
const HEADER = 'oneapi/dnnl/dnnl.hpp';
const LIBRARY = 'libdnnl.so';
const FIX =
  '  sudo apt-get install -y libdnnl-dev                  (Debian/Ubuntu), or\n' +
  '  DNNL_ROOT=/path/to/onednn npm rebuild @lm/backend-onednn   (a oneDNN install with include/ and lib/), or\n' +
  '  LM_DNNL_INCLUDE=<dir with oneapi/dnnl/dnnl.hpp> LM_DNNL_LIB=<dir with libdnnl.so> npm rebuild @lm/backend-onednn';

function fail(msg) {
  console.error(`@lm/backend-onednn: ${msg}`);
  if (lenient) {
    console.error('@lm/backend-onednn: continuing without the native addon; the `onednn` backend will be unavailable until it is built.');
    process.exit(0);
  }
  process.exit(1);
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Where oneDNN's headers and library are: { include, lib } (undefined: the compiler's default paths), and what was tried. */
function findOnednn() {
  const tried = [];
  const candidates = [];
  const env = process.env;
  if (env.LM_DNNL_INCLUDE) candidates.push({ from: 'LM_DNNL_INCLUDE', include: env.LM_DNNL_INCLUDE, lib: env.LM_DNNL_LIB });
  for (const name of ['DNNL_ROOT', 'DNNLROOT']) {
    const r = env[name];
    if (r) candidates.push({ from: name, include: join(r, 'include'), lib: [join(r, 'lib'), join(r, 'lib64')].find((d) => existsSync(join(d, LIBRARY))) ?? join(r, 'lib') });
  }
  const cflags = run('pkg-config', ['--cflags-only-I', 'dnnl']);
  if (cflags !== undefined) {
    const include = cflags.split(/\s+/).find((f) => f.startsWith('-I'))?.slice(2) || run('pkg-config', ['--variable=includedir', 'dnnl']);
    const lib = run('pkg-config', ['--variable=libdir', 'dnnl']);
    candidates.push({ from: 'pkg-config dnnl', include, lib });
  } else tried.push('pkg-config dnnl (no dnnl.pc, or no pkg-config)');
  for (const prefix of ['/usr', '/usr/local']) {
    const lib = [join(prefix, 'lib'), join(prefix, 'lib64'), join(prefix, 'lib', `${process.arch === 'x64' ? 'x86_64' : 'aarch64'}-linux-gnu`)].find((d) => existsSync(join(d, LIBRARY)));
    candidates.push({ from: prefix, include: join(prefix, 'include'), lib, system: true });
  }
  for (const c of candidates) {
    const header = c.include && join(c.include, HEADER);
    if (!header || !existsSync(header)) {
      tried.push(`${c.from}: no ${header ?? HEADER}`);
      continue;
    }
    if (!c.lib || !existsSync(join(c.lib, LIBRARY))) {
      tried.push(`${c.from}: headers in ${c.include} but no ${LIBRARY}${c.lib ? ` in ${c.lib}` : ''}`);
      continue;
    }
    return { ...c, tried };
  }
  return { tried };
}

/** node-gyp only when building: this package's copy, the package manager's, or npx. */
function nodeGyp() {
  try {
    return [process.execPath, createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js')];
  } catch {
    const managers = process.env.npm_config_node_gyp;
    return managers && existsSync(managers) ? [process.execPath, managers] : ['npx', '--yes', 'node-gyp'];
  }
}

if (process.env.LM_ONEDNN_SKIP_BUILD) {
  console.log('@lm/backend-onednn: LM_ONEDNN_SKIP_BUILD set, not building the addon');
  process.exit(0);
}

if (process.platform !== 'linux') fail(`the oneDNN addon is built on Linux only (this is ${process.platform}).`);

const dnnl = findOnednn();
if (!dnnl.include) fail(`oneDNN not found. Looked in:\n  ${dnnl.tried.join('\n  ')}\nInstall it or say where it is, then build again:\n${FIX}`);

const tools = [[process.env.CXX ?? 'c++', 'a C++17 compiler'], ['make', 'make'], ['python3', 'python3 (node-gyp runs gyp with it)']];
const missingTools = tools.filter(([t]) => run('sh', ['-c', `command -v ${t.split(' ')[0]}`]) === undefined).map(([t, what]) => `${what} (${t})`);
if (missingTools.length) fail(`cannot build: missing ${missingTools.join(', ')}.\n  sudo apt-get install -y g++ make python3\n  npm rebuild @lm/backend-onednn`);

const [cmd, ...args] = [...nodeGyp(), 'rebuild', '-j', 'max'];
// Use the running Node's own headers when it ships them (distribution packages and official tarballs do),
// so no header download is needed (offline machines, CI without internet).
const prefix = join(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
// A oneDNN outside the compiler's default paths: gyp's Makefiles read CPPFLAGS and LDFLAGS (rpath: found at run time).
const env = { ...process.env };
if (!dnnl.system) {
  env.CPPFLAGS = `${env.CPPFLAGS ?? ''} -I${dnnl.include}`.trim();
  env.LDFLAGS = `${env.LDFLAGS ?? ''} -L${dnnl.lib} -Wl,-rpath,${dnnl.lib}`.trim();
}
console.log(`@lm/backend-onednn: building the native addon with oneDNN from ${dnnl.from} (${dnnl.include}; ${cmd === 'npx' ? 'npx node-gyp' : 'node-gyp'} rebuild)`);
const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
if (r.status !== 0) {
  fail(
    `node-gyp failed (exit ${r.status ?? r.signal}). It needs a C++17 compiler, make, python3 and oneDNN:\n` +
      '  sudo apt-get install -y build-essential python3 libdnnl-dev\n' +
      '  npm rebuild @lm/backend-onednn',
  );
}
console.log('@lm/backend-onednn: native addon built: build/Release/onednn.node');
