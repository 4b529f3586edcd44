#!/usr/bin/env node
/**
 * Builds the optional libjpeg-turbo addon (build/Release/lmjpeg.node) with node-gyp.
 *   node scripts/build-native.mjs            exit 1 when libjpeg-turbo or a build tool is missing or the build fails
 *   node scripts/build-native.mjs --install  the package's `install` script: never fails the install; without the
 *                                            addon every image is decoded by sharp (slower), and loadImageNet says so.
 *
 * libjpeg(-turbo) is found through LM_JPEG_INCLUDE (+ LM_JPEG_LIB), JPEG_ROOT, `pkg-config libjpeg`, then the
 * compiler's default paths. node-gyp: this package's dev dependency, the package manager's, or `npx node-gyp`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lenient = process.argv.includes('--install');
const fix =
  '  sudo apt-get install -y g++ make python3 libjpeg62-turbo-dev   (Ubuntu: libjpeg-turbo8-dev), or\n' +
  '  JPEG_ROOT=<prefix with include/jpeglib.h and lib/libjpeg.so> npm rebuild @lm/data-imagenet, or\n' +
  '  LM_JPEG_INCLUDE=<dir with jpeglib.h> LM_JPEG_LIB=<dir with libjpeg.so> npm rebuild @lm/data-imagenet';

function stop(msg) {
  console.error(`@lm/data-imagenet: ${msg}`);
  if (!lenient) process.exit(1);
  console.error('@lm/data-imagenet: continuing without the libjpeg-turbo addon; sharp will decode every image.');
  process.exit(0);
}

const sh = (cmd) => {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
};

if (process.env.LM_IMAGENET_SKIP_NATIVE) {
  console.log('@lm/data-imagenet: LM_IMAGENET_SKIP_NATIVE set, not building the libjpeg-turbo addon');
  process.exit(0);
}

/** { from, include, lib } of the first place with jpeglib.h (lib undefined: the linker's default paths), and what was tried. */
function findLibjpeg() {
  const env = process.env;
  const tried = [];
  const places = [];
  if (env.LM_JPEG_INCLUDE) places.push({ from: 'LM_JPEG_INCLUDE', include: env.LM_JPEG_INCLUDE, lib: env.LM_JPEG_LIB });
  if (env.JPEG_ROOT) places.push({ from: 'JPEG_ROOT', include: join(env.JPEG_ROOT, 'include'), lib: join(env.JPEG_ROOT, 'lib') });
  const pc = sh('pkg-config --variable=includedir libjpeg');
  if (pc) places.push({ from: 'pkg-config libjpeg', include: pc, lib: sh('pkg-config --variable=libdir libjpeg'), system: true });
  else tried.push('pkg-config libjpeg (no libjpeg.pc, or no pkg-config)');
  for (const p of ['/usr', '/usr/local', '/opt/homebrew']) places.push({ from: p, include: join(p, 'include'), system: true });
  for (const p of places) {
    if (!existsSync(join(p.include, 'jpeglib.h'))) tried.push(`${p.from}: no ${join(p.include, 'jpeglib.h')}`);
    else if (p.lib && !['so', 'a', 'dylib'].some((x) => existsSync(join(p.lib, `libjpeg.${x}`)))) tried.push(`${p.from}: jpeglib.h in ${p.include} but no libjpeg.so in ${p.lib}`);
    else return { ...p, tried };
  }
  return { tried };
}

const jpeg = findLibjpeg();
if (!jpeg.include) stop(`libjpeg-turbo not found. Looked in:\n  ${jpeg.tried.join('\n  ')}\nInstall it or say where it is, then build:\n${fix}`);
const missing = [[process.env.CXX ?? 'c++', 'a C++17 compiler'], ['make', 'make'], ['python3', 'python3']]
  .filter(([t]) => sh(`command -v ${t.split(' ')[0]}`) === undefined)
  .map(([t, what]) => `${what} (${t})`);
if (missing.length) stop(`cannot build the addon: missing ${missing.join(', ')}. Install them, then build:\n${fix}`);

let gyp;
try {
  gyp = [process.execPath, createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js')];
} catch {
  const managers = process.env.npm_config_node_gyp; // npm and pnpm run install scripts with their own node-gyp
  gyp = managers && existsSync(managers) ? [process.execPath, managers] : ['npx', '--yes', 'node-gyp'];
}
const [cmd, ...args] = [...gyp, 'rebuild', '-j', 'max'];
// Node's own headers when it ships them: no download needed on offline machines
const prefix = join(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
const env = { ...process.env };
if (!jpeg.system) {
  // gyp's Makefiles read CPPFLAGS and LDFLAGS; the rpath finds the library at run time
  env.CPPFLAGS = `${env.CPPFLAGS ?? ''} -I${jpeg.include}`.trim();
  if (jpeg.lib) env.LDFLAGS = `${env.LDFLAGS ?? ''} -L${jpeg.lib} -Wl,-rpath,${jpeg.lib}`.trim();
}
console.log(`@lm/data-imagenet: building the libjpeg-turbo addon with libjpeg from ${jpeg.from} (${jpeg.include}; node-gyp rebuild)`);
const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
if (r.status !== 0) stop(`node-gyp failed (exit ${r.status ?? r.signal}). It needs a C++17 compiler, make, python3 and libjpeg-turbo:\n${fix}`);
console.log('@lm/data-imagenet: libjpeg-turbo addon built: build/Release/lmjpeg.node');
