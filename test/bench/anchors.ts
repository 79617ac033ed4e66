// Floors and anchors printed beside the figures of issue 24, in the same run (numbers, never pass/fail).
import { execFileSync } from 'node:child_process';
import { closeSync, copyFileSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { EmbeddedBroker } from '../../gateway/mqtt/broker.js';
import { projectPath } from '../../gateway/util/version.js';
import { silent } from '../helpers/context.js';

export const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

/** One fsync of a small append in the temp folder (where the benches' stores live): `n` × (4 kB write + fdatasync). */
export function fsyncFloor(n = 200): { p50: number; p99: number } {
  const fd = openSync(join(mkdtempSync(join(tmpdir(), 'choco-fsync-')), 'f'), 'w');
  const block = Buffer.alloc(4096, 1);
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    writeSync(fd, block);
    fdatasyncSync(fd);
    xs.push(performance.now() - t);
  }
  closeSync(fd);
  return { p50: pct(xs, 50), p99: pct(xs, 99) };
}

/** One broker hop: a QoS 1 publish to the embedded aedes on loopback until a subscriber has it, `n` times one at a time. */
export async function brokerHop(n = 200): Promise<{ p50: number; p99: number }> {
  const broker = new EmbeddedBroker({ host: '127.0.0.1', port: 0, wsPort: 0, base: 'choco-edge', allowAnonymous: true, users: [], internal: { username: 'i', password: 'i' }, reservedClientIds: [] }, silent);
  const { port } = await broker.start();
  const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  await sub.subscribeAsync('hop/t', { qos: 1 });
  let resolve = () => {};
  sub.on('message', () => resolve());
  const payload = Buffer.alloc(8_000, 'x'); // about the size of a day of 96 price slots as JSON
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const got = new Promise<void>((r) => (resolve = r));
    const t = performance.now();
    await pub.publishAsync('hop/t', payload, { qos: 1 });
    await got;
    xs.push(performance.now() - t);
  }
  await sub.endAsync();
  await pub.endAsync();
  await broker.stop();
  return { p50: pct(xs, 50), p99: pct(xs, 99) };
}

/**
 * The installed tree for production: `npm ci --omit=dev --ignore-scripts` of this package.json and lock into a temp
 * folder (the npm registry or cache must be reachable), plus dist/; with the largest packages; then the same after
 * tools/prune-production.mjs (the step the Dockerfile runs). An error when npm or the step fails.
 */
export function productionInstall(): { totalMb: number; nodeModulesMb: number; distMb: number; tensorflowMb: number; top: string; prunedTotalMb: number; prunedTensorflowMb: number } | { error: string } {
  const dir = mkdtempSync(join(tmpdir(), 'choco-install-'));
  copyFileSync(projectPath('package.json'), join(dir, 'package.json'));
  copyFileSync(projectPath('package-lock.json'), join(dir, 'package-lock.json'));
  try {
    execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: 'ignore', timeout: 300_000 });
  } catch (error) {
    return { error: `npm ci --omit=dev failed: ${(error as Error).message.split('\n')[0]}` };
  }
  const mb = (p: string) => Number(execFileSync('du', ['-sk', p], { encoding: 'utf8' }).split('\t')[0]) / 1024;
  const nodeModulesMb = mb(join(dir, 'node_modules'));
  const distMb = mb(projectPath('dist'));
  const sizes = execFileSync('sh', ['-c', 'du -sk node_modules/* node_modules/@*/* | sort -rn | head -6'], { cwd: dir, encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.split('\t'))
    .map(([k, p]) => `${p!.replace('node_modules/', '')} ${(Number(k) / 1024).toFixed(0)}`);
  const tensorflowMb = mb(join(dir, 'node_modules/@tensorflow'));
  // Then the documented step the Dockerfile runs after it (tools/prune-production.mjs: the TF.js builds Node never loads).
  try {
    execFileSync(process.execPath, [projectPath('tools/prune-production.mjs'), join(dir, 'node_modules')], { stdio: 'ignore' });
  } catch (error) {
    return { error: `tools/prune-production.mjs failed: ${(error as Error).message.split('\n')[0]}` };
  }
  return { totalMb: nodeModulesMb + distMb, nodeModulesMb, distMb, tensorflowMb, top: sizes.join(', '), prunedTotalMb: mb(join(dir, 'node_modules')) + distMb, prunedTensorflowMb: mb(join(dir, 'node_modules/@tensorflow')) };
}
