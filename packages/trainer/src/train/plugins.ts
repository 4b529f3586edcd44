import { isAbsolute, resolve } from 'node:path';
import { loadPlugin } from '@lm/core-blocks/node';

const loaded = new Set<string>();

/** Plugin file paths made absolute (so a resumed run finds them from any folder); package names unchanged. */
export function normalisePluginSpecs(specs: string[], cwd = process.cwd()): string[] {
  return specs.map((s) => (s.startsWith('.') || isAbsolute(s) || /\.(m?js|cjs|ts|mts)$/.test(s) ? resolve(cwd, s) : s));
}

/** Loads each plugin once per process (registering twice would be a duplicate-name error). */
export async function loadPlugins(specs: string[]): Promise<void> {
  for (const spec of normalisePluginSpecs(specs)) {
    if (loaded.has(spec)) continue;
    try {
      await loadPlugin(spec);
    } catch (e) {
      const err = e as Error;
      // loadPlugin names the plugin when it cannot import it; a failing register() is named here
      throw err?.name === 'PluginLoadError' ? err : new Error(`plugin '${spec}' failed in register(registry): ${err?.message ?? String(e)}`, { cause: e });
    }
    loaded.add(spec);
  }
}
