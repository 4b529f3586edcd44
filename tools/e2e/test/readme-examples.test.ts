import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformWithEsbuild } from 'vite';
import { describe, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const READMES = ['README.md', 'apps/web/README.md', 'benchmarks/README.md',
  ...['backend-onednn', 'core-blocks', 'data-cifar', 'data-imagenet', 'schemes', 'stochastic', 'trainer'].map((p) => `packages/${p}/README.md`)];

/**
 * How the test runs a block, from an HTML comment on the line before it (invisible on GitHub and npm):
 * `<!-- example: {"module": "my-block.js"} -->` writes the block (compiled to JS) as a module the next blocks
 * import; `"replace": [[from, to], ...]` shrinks a long run (epochs, batch sizes) to seconds; `"skip": why`.
 */
interface Directive {
  module?: string;
  replace?: [string, string][];
  skip?: string;
}

interface Example {
  readme: string;
  line: number;
  code: string;
  directive: Directive;
}

function examples(readme: string): Example[] {
  const lines = readFileSync(join(root, readme), 'utf8').split('\n');
  const out: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript|js|javascript)\s*$/.test(lines[i]!)) continue;
    const start = i;
    const body: string[] = [];
    while (++i < lines.length && !lines[i]!.startsWith('```')) body.push(lines[i]!);
    const comment = /^<!-- example: (.*) -->$/.exec(lines[start - 1] ?? '');
    out.push({ readme, line: start + 1, code: body.join('\n'), directive: comment ? (JSON.parse(comment[1]!) as Directive) : {} });
  }
  return out;
}

/** Runs a README's examples in order in one folder inside the repository (so packages resolve as installed: dist/). */
async function runReadme(readme: string, list: Example[]): Promise<void> {
  const dir = join(root, 'node_modules', '.cache', 'lm-readme-examples', readme.replace(/[/.]/g, '_'));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    for (const [n, ex] of list.entries()) {
      let code = ex.code;
      for (const [from, to] of ex.directive.replace ?? []) {
        if (!code.includes(from)) throw new Error(`${readme}:${ex.line}: the example no longer contains '${from}' (fix its <!-- example --> comment)`);
        code = code.replaceAll(from, to);
      }
      if (ex.directive.module) {
        writeFileSync(join(dir, ex.directive.module), (await transformWithEsbuild(code, 'module.ts', { format: 'esm' })).code);
        continue;
      }
      const file = join(dir, `example-${n}.mts`);
      writeFileSync(file, code);
      const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: dir, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
      if (r.status !== 0) throw new Error(`${readme}:${ex.line}: the example exits ${r.status}:\n${r.stderr.slice(-3000)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('every TypeScript/JavaScript example in a README runs', () => {
  for (const readme of READMES.filter((r) => existsSync(join(root, r)))) {
    const all = examples(readme);
    const skipped = all.filter((e) => e.directive.skip);
    it.skipIf(all.length === skipped.length)(`${readme} (${all.length} examples${skipped.length ? `, ${skipped.length} skipped: ${skipped.map((s) => s.directive.skip).join('; ')}` : ''})`, async () => {
      await runReadme(relative(root, join(root, readme)), all.filter((e) => !e.directive.skip));
    });
  }
});
