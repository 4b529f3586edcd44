import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
// The package's own main entry (external in the build), so the Node entry shares its registry and classes.
import { registry as globalRegistry, type Registry } from '@lm/core-blocks';

/** A plugin module: an npm package or a file exporting `register(registry)`. */
export interface LmPlugin {
  register(registry: Registry): void | Promise<void>;
}

export class PluginLoadError extends Error {
  override name = 'PluginLoadError';
}

function looksLikePath(spec: string): boolean {
  return spec.startsWith('.') || spec.startsWith('/') || isAbsolute(spec) || /\.(m?js|cjs|ts|mts)$/.test(spec);
}

/**
 * Loads a plugin by npm package name or file path (relative paths resolve against `cwd`) and calls its
 * `register(registry)`. A module whose default export holds `register` is accepted too.
 */
export async function loadPlugin(
  specifier: string,
  options: { registry?: Registry; cwd?: string } = {},
): Promise<LmPlugin> {
  const target = options.registry ?? globalRegistry;
  let url = specifier;
  if (looksLikePath(specifier)) {
    const path = resolve(options.cwd ?? process.cwd(), specifier);
    if (!existsSync(path)) throw new PluginLoadError(`Plugin file '${path}' does not exist (from '${specifier}').`);
    url = pathToFileURL(path).href;
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw new PluginLoadError(`Cannot load plugin '${specifier}': ${(err as Error).message}`);
  }
  const candidate = [mod, mod.default as Record<string, unknown> | undefined].find(
    (m) => m && typeof m.register === 'function',
  ) as LmPlugin | undefined;
  if (!candidate) {
    throw new PluginLoadError(
      `Plugin '${specifier}' does not export a function 'register(registry)' (exports: ${Object.keys(mod).join(', ') || 'none'}).`,
    );
  }
  await candidate.register(target);
  return candidate;
}
