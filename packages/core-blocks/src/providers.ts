import type { EntryKind } from './registry';

/**
 * What a package provides to the registry, declared so that a missing entry can be traced to the package that
 * has it (like Python's entry points). A package's entries are recorded here when it registers them with a
 * `provider`; packages installed but not imported declare theirs in the `"lm"` field of their package.json.
 */
export interface ProviderManifest {
  /** npm package name. */
  package: string;
  /** How a user makes the entries available; default `import '<package>'`. */
  import?: string;
  /** Registry names by kind. */
  entries: Partial<Record<EntryKind, readonly string[]>>;
  /** `createModel` shorthand option keys this package's strategies answer to: key → strategy name. */
  optionKeys?: Readonly<Record<string, string>>;
}

/** A provider found for a name, and whether its package has been imported in this process. */
export interface ProviderMatch {
  manifest: ProviderManifest;
  /** The strategy a shorthand option key stands for (only for option-key lookups). */
  strategy?: string;
  /** True when the package registered its entries in this process (into some registry). */
  imported: boolean;
}

const imported = new Map<string, { entries: Map<EntryKind, Set<string>>; optionKeys: Map<string, string> }>();
const sources: (() => readonly ProviderManifest[])[] = [];

/** Records that `pkg` provides the entry `name` of `kind` (the registry calls this when an entry names its provider). */
export function noteProvided(pkg: string, kind: EntryKind, name: string, optionKey?: string): void {
  let p = imported.get(pkg);
  if (!p) imported.set(pkg, (p = { entries: new Map(), optionKeys: new Map() }));
  let names = p.entries.get(kind);
  if (!names) p.entries.set(kind, (names = new Set()));
  names.add(name);
  if (optionKey !== undefined) p.optionKeys.set(optionKey, name);
}

/** Adds a source of manifests of packages that are not imported (the Node entry adds installed package.json files). */
export function addProviderSource(source: () => readonly ProviderManifest[]): void {
  sources.push(source);
}

function importedManifests(): ProviderManifest[] {
  return [...imported].map(([pkg, p]) => ({
    package: pkg,
    entries: Object.fromEntries([...p.entries].map(([k, v]) => [k, [...v]])),
    optionKeys: Object.fromEntries(p.optionKeys),
  }));
}

function declaredManifests(): ProviderManifest[] {
  const out: ProviderManifest[] = [];
  for (const source of sources) {
    try {
      out.push(...source());
    } catch {
      /* a broken source only costs the hint */
    }
  }
  return out;
}

/** Every known provider: packages imported in this process first, then those installed (declared). */
export function knownProviders(): ProviderManifest[] {
  return [...importedManifests(), ...declaredManifests().filter((m) => !imported.has(m.package))];
}

/** The package providing the entry `name` of `kind`, if any package says it does. */
export function findProvider(kind: EntryKind, name: string): ProviderMatch | undefined {
  const manifest = knownProviders().find((m) => m.entries[kind]?.includes(name));
  return manifest && { manifest, imported: imported.has(manifest.package) };
}

/** The package (and strategy) behind a `createModel` shorthand option key, if any package declares it. */
export function findOptionKeyProvider(key: string): ProviderMatch | undefined {
  const manifest = knownProviders().find((m) => m.optionKeys?.[key] !== undefined);
  return manifest && { manifest, strategy: manifest.optionKeys![key], imported: imported.has(manifest.package) };
}

/** How to get a provider's entries into a registry, as one sentence for an error message. */
export function howToProvide(match: ProviderMatch): string {
  const pkg = match.manifest.package;
  const how = match.manifest.import ?? `import '${pkg}'`;
  return match.imported
    ? `'${pkg}' is imported but did not register into this registry: call register(registry) from '${pkg}' (or loadPlugin('${pkg}', { registry })).`
    : `${how} once (it registers its entries into the global registry), or call register(registry) from it for a registry of your own.`;
}

/** The sentence an unknown-entry error adds when some package provides the entry; '' when none does. */
export function providerHint(kind: EntryKind, name: string): string {
  const match = findProvider(kind, name);
  return match ? ` The ${kind} '${name}' is provided by the package '${match.manifest.package}': ${howToProvide(match)}` : '';
}
