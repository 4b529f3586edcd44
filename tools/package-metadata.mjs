#!/usr/bin/env node
/**
 * Writes the metadata fields of every published package.json from one place: repository, homepage, bugs,
 * keywords, sideEffects, files (+ CHANGELOG.md, which changesets writes). `node tools/package-metadata.mjs`
 * rewrites them; `--check` exits 1 and names each package and field that differs (the e2e test runs it).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const REPOSITORY = 'https://github.com/lm-ode/lm';
const COMMON_KEYWORDS = ['tensorflow.js', 'tfjs', 'deep-learning', 'resnet', 'lm-resnet', 'ode'];
// sideEffects: true where importing registers something (registry entries, layer classes, a tfjs backend).
const PACKAGES = {
  'core-blocks': { keywords: ['residual-network', 'plugin-registry', 'batch-normalization'], sideEffects: true },
  schemes: { keywords: ['linear-multi-step', 'runge-kutta', 'revnet', 'model-zoo'], sideEffects: true },
  stochastic: { keywords: ['stochastic-depth', 'shake-shake', 'regularization'], sideEffects: true },
  'data-core': { keywords: ['dataset', 'batches', 'prng'], sideEffects: false },
  'data-cifar': { keywords: ['cifar-10', 'cifar-100', 'dataset', 'data-augmentation'], sideEffects: false },
  'data-imagenet': { keywords: ['imagenet', 'dataset', 'libjpeg-turbo', 'data-augmentation'], sideEffects: true },
  'backend-onednn': { keywords: ['onednn', 'tfjs-backend', 'native', 'cpu'], sideEffects: true },
  trainer: { keywords: ['training', 'cli', 'sgd', 'checkpoints'], sideEffects: true },
  mpi: { keywords: ['mpi', 'open-mpi', 'allreduce', 'data-parallel', 'native'], sideEffects: false },
};

function expected(name, pkg) {
  const meta = PACKAGES[name];
  const files = [...new Set([...(pkg.files ?? ['dist']), 'README.md', 'CHANGELOG.md', 'LICENSE'])];
  return {
    repository: { type: 'git', url: `git+${REPOSITORY}.git`, directory: `packages/${name}` },
    homepage: `${REPOSITORY}/tree/main/packages/${name}#readme`,
    bugs: { url: `${REPOSITORY}/issues` },
    keywords: [...COMMON_KEYWORDS, ...meta.keywords],
    sideEffects: meta.sideEffects,
    files,
  };
}

const check = process.argv.includes('--check');
const problems = [];
// every published package under packages/ needs an entry: a new package cannot ship without its metadata
for (const name of readdirSync(join(root, 'packages'))) {
  const pkg = JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8'));
  if (!pkg.private && !(name in PACKAGES)) problems.push(`packages/${name}/package.json: no entry in tools/package-metadata.mjs (keywords, sideEffects)`);
}
for (const name of Object.keys(PACKAGES)) {
  const file = join(root, 'packages', name, 'package.json');
  const pkg = JSON.parse(readFileSync(file, 'utf8'));
  const want = expected(name, pkg);
  for (const [field, value] of Object.entries(want)) {
    if (JSON.stringify(pkg[field]) !== JSON.stringify(value)) problems.push(`packages/${name}/package.json: '${field}' is ${JSON.stringify(pkg[field])}, expected ${JSON.stringify(value)}`);
  }
  if (!check) {
    // keep the field order readable: metadata after "description"/"license"
    const out = {};
    for (const [k, v] of Object.entries(pkg)) {
      if (k === 'files') out.files = want.files;
      if (k in want) continue;
      out[k] = v;
      if (k === 'license') Object.assign(out, { repository: want.repository, homepage: want.homepage, bugs: want.bugs, keywords: want.keywords });
      if (k === 'type') out.sideEffects = want.sideEffects;
    }
    if (!('files' in pkg)) out.files = want.files;
    writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  }
}
if (check && problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(check ? 'package metadata: complete' : `package metadata written for ${Object.keys(PACKAGES).length} packages`);
