import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
