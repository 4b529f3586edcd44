import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const PACKAGES = ['core-blocks', 'schemes', 'stochastic', 'data-cifar', 'data-imagenet', 'backend-onednn', 'trainer'];
const TFJS = ['@tensorflow/tfjs-core@4.22.0', '@tensorflow/tfjs-layers@4.22.0', '@tensorflow/tfjs-backend-cpu@4.22.0'];

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd} (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The last line of a script's output that parses as JSON. */
function lastJson(out: string): any {
  const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (!line) throw new Error(`no JSON line in output:\n${out}`);
  return JSON.parse(line);
}

describe('packed packages installed in a fresh project outside the workspace', () => {
  let work: string;
  const tarballs: Record<string, string> = {};

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'lm-e2e-'));
    mkdirp(join(work, 'packs'));
    for (const p of PACKAGES) {
      const out = run('npm', ['pack', '--json', '--pack-destination', join(work, 'packs')], join(root, 'packages', p));
      const [info] = JSON.parse(out.slice(out.indexOf('[')));
      tarballs[p] = join(work, 'packs', info.filename);
    }
    const project = join(work, 'project');
    mkdirp(project);
    // npm 11 runs no dependency's install script unless allowed: the addons build on install once allowed.
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'lm-user-project', private: true, type: 'module', allowScripts: { '@lm/backend-onednn': true, '@lm/data-imagenet': true } }, null, 2),
    );
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error',
      ...TFJS, ...PACKAGES.map((p) => tarballs[p]!)], project);
    copyFileSync(join(here, 'fixtures', 'plugin-block.mjs'), join(project, 'plugin-block.mjs'));
    copyFileSync(join(here, 'fixtures', 'use-esm.mjs'), join(project, 'use-esm.mjs'));
    copyFileSync(join(here, 'fixtures', 'use-cjs.cjs'), join(project, 'use-cjs.cjs'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('each tarball holds only what users need', () => {
    for (const p of PACKAGES) {
      const files = execFileSync('tar', ['-tzf', tarballs[p]!], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, ''));
      expect(files, p).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts']));
      const allowed = p === 'backend-onednn' || p === 'data-imagenet' ? /^(package\.json|README\.md|CHANGELOG\.md|LICENSE|dist\/|native\/|scripts\/|binding\.gyp$)/ : /^(package\.json|README\.md|CHANGELOG\.md|LICENSE|dist\/)/;
      expect(files.filter((f) => !allowed.test(f)), p).toEqual([]);
      expect(files.some((f) => f.includes('.test.')), p).toBe(false);
    }
  });

  it('installs without workspace links: every @lm package is a real folder from its tarball', () => {
    const lm = join(work, 'project', 'node_modules', '@lm');
    expect(readdirSync(lm).sort(), readdirSync(lm).join(' ')).toEqual([...PACKAGES].sort());
    for (const p of PACKAGES) {
      const pkg = JSON.parse(readFileSync(join(lm, p, 'package.json'), 'utf8'));
      expect(pkg.version).toBe('0.1.0');
    }
  });

  it('imports every package as ESM, registers a plugin block and trains it inside the LM scheme', () => {
    const out = run('node', ['use-esm.mjs', './plugin-block.mjs'], join(work, 'project'));
    const r = lastJson(out);
    expect(r.blocks).toContain('user-block');
    expect(r.strategies).toEqual(expect.arrayContaining(['stochastic-depth', 'shake-shake']));
    expect(r.k).toBe(6);
    expect(r.losses.every(Number.isFinite)).toBe(true);
    expect(r.losses.at(-1)).toBeLessThan(r.losses[0]);
    expect(r.imagenet).toBe('function');
    expect(r.trainer).toBeGreaterThan(0);
    expect(r.onednn, 'the oneDNN addon builds on install').toBe(true);
    expect(r.libjpegTurbo, 'the libjpeg-turbo addon of @lm/data-imagenet builds on install').toMatch(/^\d+\.\d+/);
  });

  it('loads every package with require() as CommonJS', () => {
    const r = lastJson(run('node', ['use-cjs.cjs', './plugin-block.mjs'], join(work, 'project')));
    expect(r.blocks).toContain('user-block');
    expect(r.params).toBeGreaterThan(0);
    expect([r.cifar, r.imagenet, r.onednn]).toEqual(['function', 'function', 'function']);
    expect(r.libjpegTurbo).toMatch(/^\d+\.\d+/);
    expect(r.strategies).toContain('stochastic-depth');
  });

  it('the lm command runs from the installed package', () => {
    const out = run('npx', ['--no-install', 'lm', 'models', 'lm-resnet*'], join(work, 'project'));
    expect(out).toContain('lm-resnet20');
  });
});

function mkdirp(p: string): void {
  execFileSync('mkdir', ['-p', p]);
}
