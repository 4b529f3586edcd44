import type * as Fs from 'node:fs';
import type * as Path from 'node:path';
import { addProviderSource, type ProviderManifest } from './providers';

/**
 * Node's fs and path without an import statement, so that the main entry still bundles for browsers (where this
 * finds nothing): `process.getBuiltinModule` exists from Node 20.16 (the packages need 20.19).
 */
function nodeModules(): { fs: typeof Fs; path: typeof Path } | undefined {
  const get = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
  if (typeof get !== 'function') return undefined;
  return { fs: get('node:fs') as typeof Fs, path: get('node:path') as typeof Path };
}

/** The `"lm"` field of a package.json: `{ provides: { strategy: [...], ... }, optionKeys: { key: name }, import? }`. */
interface PackageLmField {
  provides?: ProviderManifest['entries'];
  optionKeys?: Record<string, string>;
  import?: string;
}

function readManifest({ fs: { existsSync, readFileSync }, path: { join } }: { fs: typeof Fs; path: typeof Path }, dir: string): ProviderManifest | undefined {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return undefined;
  try {
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; lm?: PackageLmField };
    if (!pkg.name || !pkg.lm?.provides) return undefined;
    return { package: pkg.name, entries: pkg.lm.provides, optionKeys: pkg.lm.optionKeys, import: pkg.lm.import };
  } catch {
    return undefined;
  }
}

function packageDirs({ fs: { readdirSync }, path: { join } }: { fs: typeof Fs; path: typeof Path }, nodeModules: string): string[] {
  const dirs: string[] = [];
  for (const name of readdirSync(nodeModules)) {
    if (name.startsWith('.')) continue;
    const path = join(nodeModules, name);
    if (name.startsWith('@')) {
      try {
        for (const inner of readdirSync(path)) dirs.push(join(path, inner));
      } catch {
        /* not a folder */
      }
    } else dirs.push(path);
  }
  return dirs;
}

const cache = new Map<string, ProviderManifest[]>();

/** Manifests of the packages installed in the `node_modules` folders from `cwd` up to the root. */
export function installedProviders(cwd?: string): ProviderManifest[] {
  const node = nodeModules();
  if (!node) return [];
  const { existsSync } = node.fs;
  const { dirname, join } = node.path;
  cwd ??= process.cwd();
  const cached = cache.get(cwd);
  if (cached) return cached;
  const found = new Map<string, ProviderManifest>();
  for (let dir = cwd; ; dir = dirname(dir)) {
    const nodeModules = join(dir, 'node_modules');
    if (existsSync(nodeModules)) {
      for (const pkgDir of packageDirs(node, nodeModules)) {
        const m = readManifest(node, pkgDir);
        if (m && !found.has(m.package)) found.set(m.package, m);
      }
    }
    if (dirname(dir) === dir) break;
  }
  const list = [...found.values()];
  cache.set(cwd, list);
  return list;
}

addProviderSource(() => installedProviders());
