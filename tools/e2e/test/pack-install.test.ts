import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const PACKAGES = ['core-blocks', 'schemes', 'stochastic', 'data-core', 'data-cifar', 'data-imagenet', 'backend-onednn', 'trainer'];
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
    const plugin = run('npm', ['pack', '--json', '--pack-destination', join(work, 'packs')], join(here, 'fixtures', 'lm-plugin-example'));
    tarballs['lm-plugin-example'] = join(work, 'packs', JSON.parse(plugin.slice(plugin.indexOf('[')))[0].filename);
    const project = join(work, 'project');
    mkdirp(project);
    // npm 11 runs no dependency's install script unless allowed: the addons build on install once allowed.
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'lm-user-project', private: true, type: 'module', allowScripts: { '@lm/backend-onednn': true, '@lm/data-imagenet': true } }, null, 2),
    );
    // --prefer-offline: third-party packages come from npm's cache when it has them, the registry only otherwise
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error',
      ...TFJS, ...PACKAGES.map((p) => tarballs[p]!), tarballs['lm-plugin-example']!], project);
    copyFileSync(join(here, 'fixtures', 'plugin-block.mjs'), join(project, 'plugin-block.mjs'));
    copyFileSync(join(here, 'fixtures', 'use-esm.mjs'), join(project, 'use-esm.mjs'));
    copyFileSync(join(here, 'fixtures', 'use-cjs.cjs'), join(project, 'use-cjs.cjs'));
    copyFileSync(join(here, 'fixtures', 'use-plugin-package.mjs'), join(project, 'use-plugin-package.mjs'));
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
      const source = JSON.parse(readFileSync(join(root, 'packages', p, 'package.json'), 'utf8'));
      expect(pkg.version, p).toBe(source.version);
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

  it('a plugin package registering a block, a 3-step scheme and a strategy trains with all three at once', () => {
    const r = lastJson(run('node', ['use-plugin-package.mjs'], join(work, 'project')));
    // before it is loaded, its package.json says what it provides
    expect(r.hint).toMatch(/strategy 'user-jitter' of the package 'lm-plugin-example', which is not registered: import 'lm-plugin-example'/);
    expect(r.provider).toBe('lm-plugin-example');
    expect(r.threeStep).toBe(5); // 9 steps: 2 starts, 2 shape changes
    expect(r.jitter).toBe(9);
    expect(r.drops).toBe(9);
    expect(r.losses.every(Number.isFinite)).toBe(true);
    expect(r.losses.at(-1)).toBeLessThan(r.losses[0]);
    expect(r.coefficientsAfter.length).toBe(10);
    expect(r.coefficientsAfter).not.toEqual(r.coefficientsBefore);
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
