import { createRequire, syncBuiltinESMExports } from 'node:module';
import { basename } from 'node:path';
import { afterAll } from 'vitest';

/**
 * Every temporary `choco-*` folder a test file makes with `mkdtempSync` is deleted after that file's tests
 * (vitest setupFiles: this runs in each test file's process before the file is imported, and its afterAll runs
 * after the file's own afterAll hooks, once its gateways and child processes have stopped). One run of the suite
 * used to leave hundreds of them in /tmp. Only folders this process created are touched, never another run's.
 * Set CHOCO_TEST_KEEP_TMP=1 to keep them for a post-mortem.
 */
const require = createRequire(import.meta.url);
const fs = require('node:fs') as typeof import('node:fs');
const created: string[] = [];
const state = globalThis as { __chocoTempDirs?: string[] };
if (!state.__chocoTempDirs) {
  const original = fs.mkdtempSync;
  state.__chocoTempDirs = created;
  fs.mkdtempSync = ((prefix: string, options?: unknown) => {
    const dir = original(prefix, options as never) as unknown as string;
    if (basename(String(dir)).startsWith('choco-')) state.__chocoTempDirs!.push(String(dir));
    return dir;
  }) as typeof fs.mkdtempSync;
  // `import { mkdtempSync } from 'node:fs'` in the test files and helpers sees the wrapper too.
  syncBuiltinESMExports();
} else {
  state.__chocoTempDirs.length = 0;
}

afterAll(() => {
  if (process.env.CHOCO_TEST_KEEP_TMP === '1') return;
  for (const dir of state.__chocoTempDirs!.splice(0)) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
});
