import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The gateway as the unit runs it: compiled with tsc into `<root>/opt/choco-edge/dist` of a fresh temporary root
 * (world-readable, so an unprivileged user can run it), with package.json and config copied, node_modules, models
 * and the replay samples linked. Returns the root and the path of main.js.
 */
export function buildGatewayInto(): { root: string; app: string; main: string } {
  const root = mkdtempSync(join(tmpdir(), 'choco-built-'));
  chmodSync(root, 0o755);
  const app = join(root, 'opt/choco-edge');
  mkdirSync(app, { recursive: true });
  execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'tsconfig.build.json'), '--outDir', join(app, 'dist'), '--sourceMap', 'false'], { stdio: 'inherit', timeout: 300_000 });
  cpSync(join(REPO, 'package.json'), join(app, 'package.json'));
  cpSync(join(REPO, 'config'), join(app, 'config'), { recursive: true });
  for (const dir of ['node_modules', 'models', 'plugins']) symlinkSync(join(REPO, dir), join(app, dir));
  return { root, app, main: join(app, 'dist/gateway/main.js') };
}

/** The unprivileged user the sandbox runs the gateway as (User= in the unit, `nobody` here). */
export const NOBODY = 65534;

/**
 * Why user `nobody` cannot run the built gateway from this checkout, or undefined when it can. The built copy links
 * node_modules to the checkout and runs this node binary from a root under the temporary folder, so nobody must be
 * able to enter every folder above them: a checkout inside a private (0700) home cannot be run as nobody, and the
 * gateway would fail with ERR_MODULE_NOT_FOUND after the test had waited out its timeout. Needs root and setpriv.
 */
export function unreachableForNobody(targets: Array<{ path: string; test: '-r' | '-x' }> = [
  { path: join(REPO, 'node_modules/node-cron/package.json'), test: '-r' },
  { path: process.execPath, test: '-x' },
  { path: tmpdir(), test: '-x' },
]): string | undefined {
  const can = (test: string, path: string) => spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', 'test', test, path]).status === 0;
  for (const { path, test } of targets) {
    if (can(test, path)) continue;
    // Name the folder that stops it: the highest one nobody cannot enter.
    const chain: string[] = [];
    for (let dir = dirname(path); ; dir = dirname(dir)) {
      chain.unshift(dir);
      if (dir === dirname(dir)) break;
    }
    const blocker = chain.find((dir) => !can('-x', dir));
    return `user nobody (${NOBODY}), whom the sandbox runs the gateway as, cannot reach ${path}${blocker ? `: ${blocker} is private to its owner (e.g. mode 0700)` : ''}; run the tests from a checkout other users can enter`;
  }
  return undefined;
}
