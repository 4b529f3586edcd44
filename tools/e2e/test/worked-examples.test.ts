import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');

/** The `// <file>.ts` code blocks of the root README's worked examples, verbatim, in order. */
function workedExamples(): { file: string; code: string }[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('## Worked examples');
  if (start < 0) throw new Error("README.md has no '## Worked examples' section");
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```ts\n\/\/ (\S+\.ts)\n([\s\S]*?)```/g)].map((m) => ({ file: m[1]!, code: `// ${m[1]}\n${m[2]}` }));
}

describe("the root README's worked examples run as written", () => {
  let dir: string;
  const examples = workedExamples();
  beforeAll(() => {
    // inside the workspace, so that the @lm packages resolve (from source, as every test here)
    dir = mkdtempSync(join(here, '..', '.worked-examples-'));
    for (const { file, code } of examples) writeFileSync(join(dir, file), code);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has one definition and one use for each extension point', () => {
    expect(examples.map((e) => e.file)).toEqual(['my-block.ts', 'use-my-block.ts', 'ab3.ts', 'use-ab3.ts', 'residual-noise.ts', 'use-residual-noise.ts']);
  });

  const run = (file: string) => {
    const r = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), ['--conditions=@lm/source', file], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, LM_ONEDNN_QUIET: '1', FORCE_COLOR: '0', NO_COLOR: '1' },
    });
    if (r.status !== 0) throw new Error(`${file} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
    // console.log colours numbers when the runner forces colour: compare plain text
    return r.stdout.replace(/\x1b\[[0-9;]*m/g, '');
  };

  it('a block: the plugin trains inside LM-ResNet-20 and the k_n are printed', () => {
    const out = run('use-my-block.ts');
    const losses = [...out.matchAll(/loss (\S+)/g)].map((m) => Number(m[1]));
    expect(losses.length).toBe(3);
    expect(losses.every(Number.isFinite)).toBe(true);
    const ks = out.slice(out.lastIndexOf('[')).match(/-?\d+(\.\d+)?(e-?\d+)?/g)!.map(Number);
    expect(ks.length).toBe(6);
    expect(ks.every((k) => Number.isFinite(k) && k !== 0)).toBe(true);
  });

  it('a multi-step scheme: Adams-Bashforth 3 steps every step that has two past evaluations', () => {
    const out = run('use-ab3.ts');
    expect(out).toContain('5 Adams-Bashforth 3 steps');
    expect(out).toContain('[ 2, 10 ]');
  });

  it('a strategy: its shorthand key works next to stochastic depth, in every step', () => {
    expect(run('use-residual-noise.ts')).toContain('9 steps with both');
  });
});
