import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');

describe('changesets', () => {
  let copy: string;
  beforeAll(() => {
    // A dry run on a copy of the workspace manifests: the real tree is never versioned by a test.
    copy = mkdtempSync(join(tmpdir(), 'lm-changesets-'));
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    writeFileSync(join(copy, 'package.json'), JSON.stringify({ ...pkg, workspaces: ['packages/*'] }, null, 2));
    cpSync(join(root, '.changeset'), join(copy, '.changeset'), { recursive: true });
    for (const p of readdirSync(join(root, 'packages')).filter((d) => existsSync(join(root, 'packages', d, 'package.json')))) {
      mkdirSync(join(copy, 'packages', p), { recursive: true });
      cpSync(join(root, 'packages', p, 'package.json'), join(copy, 'packages', p, 'package.json'));
    }
    writeFileSync(
      join(copy, '.changeset', 'e2e-schemes-patch.md'),
      "---\n'@lm/core-blocks': patch\n---\n\nA test change to core-blocks.\n",
    );
  });
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it('`changeset version` gives coherent versions and changelogs', () => {
    const bin = join(root, 'node_modules', '.bin', 'changeset');
    const r = spawnSync(bin, ['version'], { cwd: copy, encoding: 'utf8' });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const version = (p: string) => JSON.parse(readFileSync(join(copy, 'packages', p, 'package.json'), 'utf8'));
    const before = (p: string) => JSON.parse(readFileSync(join(root, 'packages', p, 'package.json'), 'utf8')).version as string;
    expect(version('core-blocks').version).not.toBe(before('core-blocks'));
    for (const p of readdirSync(join(copy, 'packages'))) {
      const after = version(p);
      if (after.version !== before(p)) expect(existsSync(join(copy, 'packages', p, 'CHANGELOG.md')), p).toBe(true);
      for (const [dep, range] of Object.entries<string>(after.dependencies ?? {})) {
        if (dep.startsWith('@lm/')) expect(range, `${p} -> ${dep}`).toBe(version(dep.slice(4)).version);
      }
    }
    expect(readFileSync(join(copy, 'packages', 'core-blocks', 'CHANGELOG.md'), 'utf8')).toContain('A test change to core-blocks.');
    expect(readdirSync(join(copy, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md')).toEqual([]);
  });
});
