import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unreachableForNobody } from '../helpers/built-gateway.js';

const canSwitchUser = process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v setpriv']).status === 0;

/**
 * The sandbox test runs the built gateway as `nobody`. From a checkout inside a private (0700) folder nobody cannot
 * load node_modules: the test must skip with that reason instead of waiting out its timeout and failing.
 */
describe.skipIf(!canSwitchUser)('the sandbox test skips, with its reason, when nobody cannot reach the checkout', () => {
  const checkout = (mode: number) => {
    const home = mkdtempSync(join(tmpdir(), 'choco-home-'));
    chmodSync(home, mode);
    const repo = join(home, 'src/choco-edge');
    mkdirSync(join(repo, 'node_modules/node-cron'), { recursive: true, mode: 0o755 });
    chmodSync(join(home, 'src'), 0o755);
    writeFileSync(join(repo, 'node_modules/node-cron/package.json'), '{}', { mode: 0o644 });
    return { home, file: join(repo, 'node_modules/node-cron/package.json') };
  };

  it('names the private folder that stops nobody', () => {
    const { home, file } = checkout(0o700);
    const reason = unreachableForNobody([{ path: file, test: '-r' }]);
    expect(reason).toBe(`user nobody (65534), whom the sandbox runs the gateway as, cannot reach ${file}: ${home} is private to its owner (e.g. mode 0700); run the tests from a checkout other users can enter`);
  });

  it('has nothing to say when every folder above the checkout can be entered', () => {
    const { file } = checkout(0o755);
    expect(unreachableForNobody([{ path: file, test: '-r' }])).toBeUndefined();
  });
});
