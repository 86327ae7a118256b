import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The package's own name (`shape-actors`, `shape-actors/postgres`, ...) means its sources here, as
  // tsconfig.json's `paths` say, not dist/ (what package.json's `exports` give an installed copy).
  resolve: { tsconfigPaths: true },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
