import { describe, expect, it } from 'vitest';
import { addProviderSource, DuplicateEntryError, Registry, RegistryError, UnknownEntryError, registry, builtinBlocks } from '../src/index';

const dummyScheme = { step: (s: any) => s };

describe('Registry', () => {
  it('registers, gets and lists entries of each kind, naturally sorted and filtered by wildcards', () => {
    const r = new Registry();
    for (const name of ['lm-resnet110', 'resnet20', 'lm-resnet20', 'resnet110']) {
      r.register('model', name, { create: () => undefined as any });
    }
    expect(r.list('model')).toEqual(['lm-resnet20', 'lm-resnet110', 'resnet20', 'resnet110']);
    expect(r.list('model', 'lm-*')).toEqual(['lm-resnet20', 'lm-resnet110']);
    expect(r.list('model', ['*20'])).toEqual(['lm-resnet20', 'resnet20']);
    r.register('scheme', 'euler', dummyScheme);
    expect(r.get('scheme', 'euler')).toBe(dummyScheme);
    expect(r.has('scheme', 'euler')).toBe(true);
    expect(r.has('block', 'euler')).toBe(false);
  });

  it('rejects a duplicate name unless told to override, naming the known entries', () => {
    const r = new Registry();
    r.register('scheme', 'euler', dummyScheme);
    r.register('scheme', 'rk2', dummyScheme);
    const attempt = () => r.register('scheme', 'euler', dummyScheme);
    expect(attempt).toThrow(DuplicateEntryError);
    expect(attempt).toThrow(/scheme named 'euler' is already registered \(known schemes: euler, rk2\)/);
    const other = { step: (s: any) => s };
    r.register('scheme', 'euler', other, { override: true });
    expect(r.get('scheme', 'euler')).toBe(other);
  });

  it('fails on an unknown name with the list of known names of that kind', () => {
    const r = new Registry();
    r.register('block', 'basic', builtinBlocks.basic!);
    r.register('block', 'preact-basic', builtinBlocks['preact-basic']!);
    expect(() => r.get('block', 'basik')).toThrow(UnknownEntryError);
    expect(() => r.get('block', 'basik')).toThrow("Unknown block 'basik'. Known blocks: basic, preact-basic.");
  });

  it("names the package that provides a missing entry when that package registered it elsewhere or declares it", () => {
    const elsewhere = new Registry();
    elsewhere.register('strategy', 'test-jitter', { perturbStep: (u) => u }, { provider: '@example/jitter' });
    expect(elsewhere.providerOf('strategy', 'test-jitter')).toBe('@example/jitter');
    const r = new Registry();
    expect(() => r.get('strategy', 'test-jitter')).toThrow(
      "Unknown strategy 'test-jitter'. Known strategies: (none registered). The strategy 'test-jitter' is provided by the package " +
        "'@example/jitter': '@example/jitter' is imported but did not register into this registry: call register(registry) from '@example/jitter' (or loadPlugin('@example/jitter', { registry })).",
    );
    addProviderSource(() => [{ package: '@example/not-imported', import: "import '@example/not-imported/register'", entries: { scheme: ['test-rk4'] } }]);
    expect(() => r.get('scheme', 'test-rk4')).toThrow(
      "The scheme 'test-rk4' is provided by the package '@example/not-imported': import '@example/not-imported/register' once (it registers its entries into the global registry)",
    );
    expect(() => r.get('scheme', 'test-rk5')).toThrow(/^Unknown scheme 'test-rk5'\. Known schemes: \(none registered\)\.$/);
  });

  it('rejects malformed names and unknown kinds', () => {
    const r = new Registry();
    expect(() => r.register('block', 'has space', builtinBlocks.basic!)).toThrow(RegistryError);
    expect(() => r.register('block', '', builtinBlocks.basic!)).toThrow(/Invalid block name/);
    expect(() => r.list('widget' as any)).toThrow(/Unknown registry kind 'widget'. Kinds: block, scheme, strategy, model/);
  });

  it('holds the built-in blocks in the global registry', () => {
    expect(registry.list('block')).toEqual(expect.arrayContaining(['basic', 'preact-basic', 'preact-bottleneck', 'bottleneck', 'resnext-bottleneck']));
  });
});
