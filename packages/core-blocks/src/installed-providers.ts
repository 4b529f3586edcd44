import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { addProviderSource, type ProviderManifest } from './providers';

/** The `"lm"` field of a package.json: `{ provides: { strategy: [...], ... }, optionKeys: { key: name }, import? }`. */
interface PackageLmField {
  provides?: ProviderManifest['entries'];
  optionKeys?: Record<string, string>;
  import?: string;
}

function readManifest(dir: string): ProviderManifest | undefined {
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

function packageDirs(nodeModules: string): string[] {
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
export function installedProviders(cwd: string = process.cwd()): ProviderManifest[] {
  const cached = cache.get(cwd);
  if (cached) return cached;
  const found = new Map<string, ProviderManifest>();
  for (let dir = cwd; ; dir = dirname(dir)) {
    const nodeModules = join(dir, 'node_modules');
    if (existsSync(nodeModules)) {
      for (const pkgDir of packageDirs(nodeModules)) {
        const m = readManifest(pkgDir);
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
