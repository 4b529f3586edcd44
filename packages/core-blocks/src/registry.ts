import type { BlockDefinition } from './block';
import type { ModelDefinition, SchemeDefinition, StrategyDefinition } from './contracts';
import { noteProvided, providerHint } from './providers';
import { strategyOptionKey } from './strategy-options';

/** What each kind of registry entry holds. */
export interface RegistryEntries {
  block: BlockDefinition<any>;
  scheme: SchemeDefinition<any>;
  strategy: StrategyDefinition<any>;
  model: ModelDefinition<any>;
}

export type EntryKind = keyof RegistryEntries;

export const ENTRY_KINDS: readonly EntryKind[] = ['block', 'scheme', 'strategy', 'model'];

export class RegistryError extends Error {
  override name = 'RegistryError';
}

/** Thrown for a name that is not registered; the message lists the known names of that kind. */
export class UnknownEntryError extends RegistryError {
  override name = 'UnknownEntryError';
  constructor(
    readonly kind: EntryKind,
    readonly entryName: string,
    readonly known: string[],
    /** Which package provides the entry and how to import it, when a package declares it (see `providers.ts`). */
    readonly hint = '',
  ) {
    super(`Unknown ${kind} '${entryName}'. Known ${plural(kind)}: ${known.length ? known.join(', ') : '(none registered)'}.${hint}`);
  }
}

/** Thrown when a name is registered twice without `{ override: true }`. */
export class DuplicateEntryError extends RegistryError {
  override name = 'DuplicateEntryError';
  constructor(
    readonly kind: EntryKind,
    readonly entryName: string,
    readonly known: string[],
  ) {
    super(
      `A ${kind} named '${entryName}' is already registered (known ${plural(kind)}: ${known.join(', ')}). ` +
        `Choose another name or pass { override: true }.`,
    );
  }
}

/** `block` → `blocks`, `strategy` → `strategies`. */
function plural(kind: EntryKind): string {
  return kind.endsWith('y') ? `${kind.slice(0, -1)}ies` : `${kind}s`;
}

/** Natural sort: resnet20 < resnet110. */
function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

export interface RegisterOptions {
  /** Replace an entry of the same name. */
  override?: boolean;
  /** The npm package that provides the entry (else the definition's own `provider`). */
  provider?: string;
}

const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*$/i;

/**
 * Named entries of four kinds (blocks, schemes, stochastic strategies, models), in the manner of timm's
 * model registry: names map to definitions, `list` filters with wildcards and sorts naturally.
 */
export class Registry {
  private readonly entries: { [K in EntryKind]: Map<string, RegistryEntries[K]> } = {
    block: new Map(),
    scheme: new Map(),
    strategy: new Map(),
    model: new Map(),
  };
  private readonly providers = new Map<string, string>();

  register<K extends EntryKind>(kind: K, name: string, definition: RegistryEntries[K], options: RegisterOptions = {}): this {
    const map = this.mapOf(kind);
    if (!NAME_PATTERN.test(name)) {
      throw new RegistryError(
        `Invalid ${kind} name '${name}': use letters, digits, '.', '_' and '-', starting with a letter or digit.`,
      );
    }
    if (map.has(name) && !options.override) throw new DuplicateEntryError(kind, name, this.list(kind));
    map.set(name, definition);
    const provider = options.provider ?? definition.provider;
    this.providers.delete(`${kind}:${name}`);
    if (provider !== undefined) {
      this.providers.set(`${kind}:${name}`, provider);
      noteProvided(provider, kind, name, kind === 'strategy' ? strategyOptionKey(name, definition as StrategyDefinition) : undefined);
    }
    return this;
  }

  /** Registers the entries whose names are still free and leaves registered ones alone: how a package adds its built-ins. */
  registerMissing<K extends EntryKind>(kind: K, entries: Record<string, RegistryEntries[K]>, options: Omit<RegisterOptions, 'override'> = {}): this {
    for (const [name, definition] of Object.entries(entries)) {
      if (!this.has(kind, name)) this.register(kind, name, definition, options);
    }
    return this;
  }

  unregister(kind: EntryKind, name: string): boolean {
    this.providers.delete(`${kind}:${name}`);
    return this.mapOf(kind).delete(name);
  }

  /** The package that provides a registered entry, when it said so. */
  providerOf(kind: EntryKind, name: string): string | undefined {
    return this.providers.get(`${kind}:${name}`);
  }

  has(kind: EntryKind, name: string): boolean {
    return this.mapOf(kind).has(name);
  }

  get<K extends EntryKind>(kind: K, name: string): RegistryEntries[K] {
    const found = this.mapOf(kind).get(name);
    if (found === undefined) throw new UnknownEntryError(kind, name, this.list(kind), providerHint(kind, name));
    return found;
  }

  /** Names of one kind, naturally sorted; `filter` is a wildcard pattern such as `lm-resnet*`. */
  list(kind: EntryKind, filter?: string | string[]): string[] {
    let names = [...this.mapOf(kind).keys()];
    if (filter !== undefined) {
      const patterns = (Array.isArray(filter) ? filter : [filter]).map(globToRegExp);
      names = names.filter((n) => patterns.some((p) => p.test(n)));
    }
    return names.sort(naturalCompare);
  }

  private mapOf<K extends EntryKind>(kind: K): Map<string, RegistryEntries[K]> {
    const map = this.entries[kind];
    if (!map) {
      throw new RegistryError(`Unknown registry kind '${String(kind)}'. Kinds: ${ENTRY_KINDS.join(', ')}.`);
    }
    return map;
  }
}

/**
 * The process-wide registry that built-in blocks, schemes, strategies and models register into. It lives on
 * `globalThis` under a `Symbol.for` key, so the ESM and CJS builds (and a bundled copy) of this package share one.
 */
const GLOBAL_REGISTRY = Symbol.for('@lm/core-blocks/registry@1');
type RegistryHolder = { [GLOBAL_REGISTRY]?: Registry };
export const registry: Registry = ((globalThis as RegistryHolder)[GLOBAL_REGISTRY] ??= new Registry());
