import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Registry } from '../src/index';
import { loadPlugin, PluginLoadError } from '../src/node';

const here = dirname(fileURLToPath(import.meta.url));

describe('loadPlugin', () => {
  it('loads a plugin file by path and lets it register into the given registry', async () => {
    const r = new Registry();
    await loadPlugin('./fixtures/plugin-block.ts', { registry: r, cwd: here });
    expect(r.list('block')).toEqual(['plugin-relu-conv']);
    expect(r.get('block', 'plugin-relu-conv').expansion).toBe(1);
  });

  it('names a missing file', async () => {
    await expect(loadPlugin('./fixtures/nope.ts', { cwd: here })).rejects.toThrow(
      new PluginLoadError(`Plugin file '${join(here, 'fixtures/nope.ts')}' does not exist (from './fixtures/nope.ts').`),
    );
  });

  it('says what a module lacks when it exports no register function', async () => {
    await expect(loadPlugin(join(here, 'fixtures/not-a-plugin.ts'))).rejects.toThrow(
      /does not export a function 'register\(registry\)' \(exports: answer\)/,
    );
  });

  it('names an npm package that cannot be imported', async () => {
    await expect(loadPlugin('@lm/no-such-plugin-package')).rejects.toThrow(/Cannot load plugin '@lm\/no-such-plugin-package'/);
  });
});
