import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PACKAGES = ['core-blocks', 'schemes', 'stochastic', 'data-cifar', 'data-imagenet', 'backend-onednn', 'trainer'];

function run(cmd: string, args: string[], cwd: string) {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
}

describe('every packed tarball passes publint and attw, with complete metadata', () => {
  const packs = mkdtempSync(join(tmpdir(), 'lm-lint-'));
  afterAll(() => rmSync(packs, { recursive: true, force: true }));

  it('package.json metadata (repository, homepage, bugs, keywords, sideEffects, files) is complete', () => {
    const r = run(process.execPath, [join(root, 'tools', 'package-metadata.mjs'), '--check'], root);
    expect(r.status, r.stderr).toBe(0);
  });

  for (const name of PACKAGES) {
    it(`@lm/${name}`, async () => {
      const out = run('npm', ['pack', '--json', '--pack-destination', packs], join(root, 'packages', name));
      expect(out.status, out.stderr).toBe(0);
      const [info] = JSON.parse(out.stdout.slice(out.stdout.indexOf('[')));
      const tarball = join(packs, info.filename as string);
      const pkg = JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8'));

      const bytes = readFileSync(tarball);
      const { messages } = await publint({ pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer }, level: 'suggestion', strict: true });
      expect(messages.map((m) => `${m.type}: ${formatMessage(m, pkg) ?? m.code}`)).toEqual([]);

      // Node 16+ module resolution and bundlers (node10 ignores `exports` and cannot see the ./node subpath).
      const attw = run(process.execPath, [join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js'), tarball, '--profile', 'node16', '--format', 'ascii'], packs);
      expect(attw.status, `${attw.stdout}\n${attw.stderr}`).toBe(0);
    });
  }
});
