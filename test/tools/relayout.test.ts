import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = fileURLToPath(new URL('../../tools/relayout.mjs', import.meta.url));

describe('tools/relayout.mjs on this tree', () => {
  // Needs git (a source checkout); a tarball without .git has nothing to move.
  it.skipIf(!existsSync(`${ROOT}.git`))('finds every move done, no file loose in gateway/, and no reference to rewrite', () => {
    const r = spawnSync(process.execPath, [SCRIPT, '--dry-run', '--allow-dirty'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^moves: 0 to do, \d+ already done, 0 missing$/m);
    expect(r.stdout).toMatch(/^references: 0 relative specifier\(s\), 0 root-path mention\(s\) in 0 file\(s\)$/m);
  });
});
