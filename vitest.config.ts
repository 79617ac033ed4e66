import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Budgets, not measurements: a busy two-core machine may take several times longer than a quiet one.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Deletes the temporary choco-* folders each test file made, after its tests (test/setup/temp-dirs.ts).
    setupFiles: ['test/setup/temp-dirs.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: 'test-output/vitest.json' },
  },
});
