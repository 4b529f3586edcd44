import { defineConfig, type ViteUserConfig } from 'vitest/config';

/** Shared vitest settings: run workspace packages from source through the `@lm/source` export condition. */
export function packageTests(name: string, overrides: ViteUserConfig['test'] = {}): ViteUserConfig {
  return defineConfig({
    resolve: { conditions: ['@lm/source', 'module', 'node', 'import', 'default'] },
    ssr: { resolve: { conditions: ['@lm/source', 'module', 'node', 'import', 'default'] } },
    test: {
      name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      environment: 'node',
      pool: 'forks',
      testTimeout: 120_000,
      hookTimeout: 120_000,
      ...overrides,
    },
  });
}
