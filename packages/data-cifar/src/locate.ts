/** Where the data may be: explicit path, environment variables, the cache folder, the shared datasets folder. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Variant } from './format.js';

export const OFFICIAL: Record<Variant, { url: string; md5: string; archive: string; folder: string }> = {
  cifar10: {
    url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
    md5: 'c32a1d4ab5d03f1284b67883e8d87530',
    archive: 'cifar-10-binary.tar.gz',
    folder: 'cifar-10-batches-bin',
  },
  cifar100: {
    url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
    md5: '03b5dce01913d631647c71ecec9e9cb8',
    archive: 'cifar-100-binary.tar.gz',
    folder: 'cifar-100-binary',
  },
};

/** Environment variable names for a variant: `LM_CIFAR10_PATH`, `LM_CIFAR10_URL`, `LM_CIFAR10_MD5`, `LM_CIFAR10_SHA256`. */
export function envName(variant: Variant, what: 'PATH' | 'URL' | 'MD5' | 'SHA256'): string {
  return `LM_${variant.toUpperCase()}_${what}`;
}

/** Default cache folder: `$LM_DATA_DIR` or `~/.cache/lm/datasets`. */
export function defaultCacheDir(): string {
  return process.env.LM_DATA_DIR || join(homedir(), '.cache', 'lm', 'datasets');
}

const ARCHIVE_RE: Record<Variant, RegExp> = {
  cifar10: /^cifar-10-.*\.(tar\.gz|tgz|tar)$/,
  cifar100: /^cifar-100-.*\.(tar\.gz|tgz|tar)$/,
};

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * Finds a copy of `variant` inside `dir`: the official archive, the extracted folder, or any archive named
 * `cifar-10-*.tar.gz` / `cifar-100-*.tar.gz` (never `.part` files).
 */
export function findInDir(dir: string, variant: Variant): string | undefined {
  if (!isDir(dir)) return undefined;
  const o = OFFICIAL[variant];
  const archive = join(dir, o.archive);
  if (isFile(archive)) return archive;
  const folder = join(dir, o.folder);
  if (isDir(folder)) return folder;
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return undefined;
  }
  const hit = names.find((n) => ARCHIVE_RE[variant].test(n) && isFile(join(dir, n)));
  return hit ? join(dir, hit) : undefined;
}

/** Directories searched (after an explicit path and the `LM_CIFAR*_PATH` variable), in order. */
export function searchDirs(variant: Variant, cacheDir?: string): string[] {
  const cache = cacheDir ?? defaultCacheDir();
  const dirs = [join(cache, variant), cache];
  if (process.env.LM_SHARED_DIR) dirs.push(join(process.env.LM_SHARED_DIR, 'datasets', variant));
  return dirs;
}

export interface Located {
  path?: string;
  searched: string[];
}

/** Looks for a local copy. An explicit path wins (and must exist); then the env variable; then the folders. */
export function locate(variant: Variant, opts: { path?: string; cacheDir?: string }): Located {
  const searched: string[] = [];
  if (opts.path) {
    searched.push(opts.path);
    if (existsSync(opts.path)) return { path: opts.path, searched };
    return { searched };
  }
  const env = process.env[envName(variant, 'PATH')];
  if (env) {
    searched.push(`$${envName(variant, 'PATH')}=${env}`);
    if (existsSync(env)) return { path: env, searched };
  }
  for (const d of searchDirs(variant, opts.cacheDir)) {
    searched.push(d);
    const hit = findInDir(d, variant);
    if (hit) return { path: hit, searched };
  }
  return { searched };
}
