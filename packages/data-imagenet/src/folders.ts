/**
 * ImageNet on disk: a training folder of synset folders (`n01440764/n01440764_10026.JPEG`),
 * a validation folder in the same layout or flat with a label file, and the synset list that
 * fixes the class order (and may select a subset of classes).
 */
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, extname, join, sep } from 'node:path';

/** File extensions taken as images (compared case-insensitively). Content decides the decoder, not the name. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpeg', '.jpg', '.jpe', '.jfif', '.png', '.webp', '.tif', '.tiff'];

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export interface SynsetList {
  /** Class ids (WordNet ids for ImageNet) in index order. */
  wnids: string[];
  /** Human-readable names when the file has them, else the wnid. */
  descriptions: string[];
}

/**
 * Parses a class list. Accepted forms:
 * - a JSON class index `{"0": ["n01440764", "tench"], ...}` (Keras' imagenet_class_index.json),
 *   or a JSON array of wnids;
 * - text, one class a line: `n01440764` or `n01440764 tench, Tinca tinca` (LOC_synset_mapping.txt,
 *   synset_words.txt); blank lines and lines starting with `#` are ignored.
 */
export function parseSynsetList(text: string): SynsetList {
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    const json = JSON.parse(trimmed) as unknown;
    if (Array.isArray(json)) {
      const wnids = json.map((x) => String(Array.isArray(x) ? x[0] : x));
      return { wnids, descriptions: json.map((x, i) => String(Array.isArray(x) && x.length > 1 ? x[1] : wnids[i])) };
    }
    const entries = Object.entries(json as Record<string, unknown>).map(([k, v]) => {
      const idx = Number(k);
      if (!Number.isInteger(idx) || idx < 0) throw new Error(`class index key "${k}" is not a non-negative integer`);
      const arr = Array.isArray(v) ? v : [v];
      return { idx, wnid: String(arr[0]), desc: String(arr[1] ?? arr[0]) };
    });
    entries.sort((a, b) => a.idx - b.idx);
    entries.forEach((e, i) => {
      if (e.idx !== i) throw new Error(`class index is not contiguous: expected key ${i}, found ${e.idx}`);
    });
    return { wnids: entries.map((e) => e.wnid), descriptions: entries.map((e) => e.desc) };
  }
  const wnids: string[] = [];
  const descriptions: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(\S+)(?:[\s,]+(.*))?$/.exec(line)!;
    wnids.push(m[1]);
    descriptions.push(m[2]?.trim() || m[1]);
  }
  const seen = new Set<string>();
  for (const w of wnids) {
    if (seen.has(w)) throw new Error(`class "${w}" is listed twice`);
    seen.add(w);
  }
  return { wnids, descriptions };
}

export async function readSynsetList(path: string): Promise<SynsetList> {
  return parseSynsetList(await readFile(path, 'utf8'));
}

/**
 * Sub-folders of `dir` (not hidden), symbolic links to folders included. A link that points at `dir` itself or
 * one of its parents (a loop), a dangling link, or two names for one folder is an error naming the link.
 */
async function classFolderNames(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const root = await realpath(dir);
  const seen = new Map<string, string>();
  const names: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    if (!e.isDirectory() && !e.isSymbolicLink()) continue;
    const path = join(dir, e.name);
    if (e.isSymbolicLink()) {
      let target: string;
      try {
        target = await realpath(path);
      } catch {
        throw new Error(`class folder ${path} is a symbolic link to something that does not exist; fix or remove the link`);
      }
      if (!(await stat(target)).isDirectory()) continue;
      if (target === root || root.startsWith(target + sep)) throw new Error(`class folder ${path} is a symbolic link to ${target}, which contains ${dir} itself (a loop); remove the link`);
    }
    const real = await realpath(path);
    const twin = seen.get(real);
    if (twin !== undefined) throw new Error(`class folders ${join(dir, twin)} and ${path} are the same folder (${real}); one class would be two`);
    seen.set(real, e.name);
    names.push(e.name);
  }
  return names.sort(byCodeUnit);
}

/** Class folder name -> sorted image file paths, for every sub-folder of `dir` (symbolic links to folders followed). */
export async function listClassFolders(dir: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const names = await classFolderNames(dir);
  await Promise.all(
    names.map(async (name) => {
      const files = (await readdir(join(dir, name), { withFileTypes: true }))
        .filter((e) => (e.isFile() || e.isSymbolicLink()) && isImageFile(e.name))
        .map((e) => e.name)
        .sort(byCodeUnit);
      out.set(name, files.map((f) => join(dir, name, f)));
    }),
  );
  return new Map(names.map((n) => [n, out.get(n)!]));
}

/** Sorted image files directly inside `dir` and whether `dir` has sub-folders. */
export async function listFlatFolder(dir: string): Promise<{ files: string[]; hasSubfolders: boolean }> {
  const entries = await readdir(dir, { withFileTypes: true });
  return {
    files: entries.filter((e) => (e.isFile() || e.isSymbolicLink()) && isImageFile(e.name)).map((e) => join(dir, e.name)).sort(byCodeUnit),
    hasSubfolders: entries.some((e) => e.isDirectory() && !e.name.startsWith('.')),
  };
}

export interface LabelledFiles {
  files: string[];
  labels: number[];
}

/** Files of the classes `wnids` (in class order, files sorted) from a folder of class folders. */
export function filesOfClasses(folders: Map<string, string[]>, wnids: readonly string[], where: string, requireAll: boolean, limitPerClass?: number): LabelledFiles {
  const files: string[] = [];
  const labels: number[] = [];
  const missing: string[] = [];
  wnids.forEach((w, i) => {
    const list = folders.get(w);
    if (!list) {
      missing.push(w);
      return;
    }
    const take = limitPerClass === undefined ? list : list.slice(0, limitPerClass);
    for (const f of take) {
      files.push(f);
      labels.push(i);
    }
  });
  if (requireAll && missing.length) {
    throw new Error(`${where}: no folder for ${missing.length} class(es): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`);
  }
  return { files, labels };
}

export interface ValLabelOptions {
  /** Integer labels count from this base (1 for ILSVRC2012_validation_ground_truth.txt). Default 0. */
  indexBase?: number;
}

/**
 * Labels a flat validation folder from a label file. Accepted forms:
 * - CSV with an `ImageId,PredictionString` header (LOC_val_solution.csv): the first token of
 *   PredictionString is the wnid;
 * - lines `<file> <label>` (space, tab or comma separated), where file is the file name with or
 *   without extension and label a wnid or an integer class index;
 * - one label a line, in the order of the sorted file names (ILSVRC2012_validation_ground_truth.txt;
 *   integers count from `indexBase` in the class order of the dataset).
 * Files whose label is not one of `wnids` (a class subset) are left out; files without a label are an error.
 */
export function labelFlatFolder(files: readonly string[], labelText: string, wnids: readonly string[], where: string, opts: ValLabelOptions = {}): LabelledFiles {
  const base = opts.indexBase ?? 0;
  const classOf = new Map(wnids.map((w, i) => [w, i]));
  const lines = labelText.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const resolve = (token: string, context: string): number | null => {
    const ci = classOf.get(token);
    if (ci !== undefined) return ci;
    if (/^\d+$/.test(token)) {
      const idx = Number(token) - base;
      return idx >= 0 && idx < wnids.length ? idx : null;
    }
    if (/^n\d{8}$/.test(token)) return null; // a class outside the selected subset
    throw new Error(`${where}: unknown label "${token}" for ${context}`);
  };
  const out: LabelledFiles = { files: [], labels: [] };
  const positional = lines.length > 0 && lines.every((l) => !/[\s,]/.test(l));
  if (positional) {
    if (lines.length !== files.length) throw new Error(`${where}: ${lines.length} labels for ${files.length} images`);
    files.forEach((f, i) => {
      const l = resolve(lines[i], basename(f));
      if (l !== null) {
        out.files.push(f);
        out.labels.push(l);
      }
    });
    return out;
  }
  let body = lines;
  if (/^imageid\s*,/i.test(lines[0] ?? '')) body = lines.slice(1);
  const byName = new Map<string, string>();
  for (const l of body) {
    const m = /^([^\s,]+)[\s,]+(\S+)/.exec(l);
    if (!m) throw new Error(`${where}: cannot read line "${l}"`);
    const key = m[1];
    byName.set(key, m[2]);
    const stem = key.slice(0, key.length - extname(key).length);
    if (stem && stem !== key && !byName.has(stem)) byName.set(stem, m[2]);
  }
  const missing: string[] = [];
  for (const f of files) {
    const name = basename(f);
    const token = byName.get(name) ?? byName.get(name.slice(0, name.length - extname(name).length));
    if (token === undefined) {
      missing.push(name);
      continue;
    }
    const l = resolve(token, name);
    if (l !== null) {
      out.files.push(f);
      out.labels.push(l);
    }
  }
  if (missing.length) throw new Error(`${where}: no label for ${missing.length} image(s): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`);
  return out;
}
