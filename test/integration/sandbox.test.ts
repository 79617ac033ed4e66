import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SeriesStore } from '../../gateway/series/store.js';
import { NOBODY, REPO, buildGatewayInto, unreachableForNobody } from '../helpers/built-gateway.js';

/**
 * The built gateway under each hardening directive of deploy/choco-edge.service, applied without systemd by
 * test/helpers/sandbox.py (seccomp filter, mount namespace, setpriv), one directive at a time and all together:
 * it starts, answers /health, writes its store (Sparkplug's bdSeq) and stops with 0 on SIGTERM.
 */
const SANDBOX = fileURLToPath(new URL('../helpers/sandbox.py', import.meta.url));
const UNIT = readFileSync(new URL('../../deploy/choco-edge.service', import.meta.url), 'utf8');
const tool = (name: string) => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
const reason =
  process.getuid?.() !== 0 ? 'needs root (mount namespace, seccomp before dropping privileges)'
  : !tool('python3') ? 'needs python3 for the sandbox helper'
  : !tool('setpriv') ? 'needs setpriv (util-linux)'
  : !['x64', 'arm64'].includes(arch()) ? `no seccomp filter for ${arch()}`
  : spawnSync('python3', [SANDBOX, '--private-tmp', '/tmp', '--', 'true']).status !== 0 ? 'mount namespaces are not allowed here'
  : unreachableForNobody();
if (reason) console.warn(`sandbox tests skipped: ${reason}`);

/** Each directive the unit sets, with the sandbox flags that apply it (data dir and install root filled in). */
const DIRECTIVES: Array<{ directive: RegExp; name: string; flags: (root: string, data: string) => string[] }> = [
  { directive: /^RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6$/m, name: 'RestrictAddressFamilies', flags: () => ['--address-families'] },
  { directive: /^SystemCallArchitectures=native$/m, name: 'SystemCallArchitectures', flags: () => ['--native-arch'] },
  { directive: /^ProtectSystem=strict$/m, name: 'ProtectSystem=strict + ReadWritePaths', flags: (_root, data) => ['--protect-system', data] },
  // The built copy links node_modules to this checkout: when the checkout itself is under /tmp, it is kept visible too.
  { directive: /^PrivateTmp=yes$/m, name: 'PrivateTmp', flags: (root) => ['--private-tmp', [root, ...(REPO.startsWith(`${tmpdir()}/`) ? [REPO] : [])].join(':')] },
  { directive: /^CapabilityBoundingSet=$/m, name: 'User + empty capability set', flags: () => ['--no-caps', `${NOBODY}:${NOBODY}`] },
  { directive: /^DevicePolicy=closed$/m, name: 'DevicePolicy=closed', flags: () => ['--device-policy-closed'] },
  { directive: /^LimitNOFILE=4096$/m, name: 'LimitNOFILE', flags: () => ['--limit-nofile', '4096'] },
];

describe.skipIf(reason)('the built gateway under the unit sandbox', () => {
  let built: ReturnType<typeof buildGatewayInto>;
  const children: ChildProcess[] = [];
  beforeAll(() => {
    built = buildGatewayInto();
  }, 300_000);
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
  });

  it('the helper really restricts: AF_NETLINK refused, the install dir read-only, no capabilities', () => {
    const netlink = spawnSync('python3', [SANDBOX, '--address-families', '--', 'python3', '-c', 'import socket; socket.socket(socket.AF_NETLINK, socket.SOCK_RAW)'], { encoding: 'utf8' });
    expect(netlink.stderr).toMatch(/Errno 97/);
    const data = join(built.root, 'var/lib/probe');
    mkdirSync(data, { recursive: true });
    const write = spawnSync('python3', [SANDBOX, '--private-tmp', built.root, '--protect-system', data, '--', 'sh', '-c', `touch ${data}/ok && touch ${built.app}/no`], { encoding: 'utf8' });
    expect(write.stderr).toMatch(/Read-only file system/);
    expect(existsSync(join(data, 'ok'))).toBe(true);
    const caps = spawnSync('python3', [SANDBOX, '--no-caps', `${NOBODY}:${NOBODY}`, '--', 'grep', 'CapBnd', '/proc/self/status'], { encoding: 'utf8' });
    expect(caps.stdout).toMatch(/CapBnd:\s+0+\n/);
  });

  const cases = [...DIRECTIVES.map((d) => ({ name: d.name, directives: [d] })), { name: 'all of them together', directives: DIRECTIVES }];
  it.each(cases)('starts, serves /health, writes its store and stops cleanly under $name', async ({ directives }) => {
    for (const d of directives) expect(UNIT, `the unit no longer sets ${d.name}`).toMatch(d.directive);
    const data = join(built.root, `var/lib/choco-edge-${directives.map((d) => d.name.replace(/\W+/g, '')).join('-')}`.slice(0, 200));
    mkdirSync(data, { recursive: true });
    chownSync(data, NOBODY, NOBODY);
    const flags = directives.flatMap((d) => d.flags(built.root, data));
    const child = spawn('python3', [SANDBOX, ...flags, '--', process.execPath, built.main, 'start'], {
      cwd: built.app,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        CHOCO_EDGE_DATA_DIR: data,
        CHOCO_EDGE_CLOCK_VERIFY: 'false', // no NTP status in the sandbox and no server to confirm the clock
        CHOCO_EDGE_LOG_PRETTY: 'false',
        CHOCO_EDGE_LOG_LEVEL: 'info',
        CHOCO_EDGE_HTTP_PORT: '0',
        CHOCO_EDGE_MQTT_EMBEDDED_PORT: '0',
        CHOCO_EDGE_MQTT_EMBEDDED_WS_PORT: '0',
        // Prices from the shipped replay file, so no error in the log comes from an unreachable API.
        CHOCO_EDGE_SOURCES_REE_ENABLED: 'false',
        CHOCO_EDGE_SOURCES_OMIE_ENABLED: 'false',
        CHOCO_EDGE_SOURCES_REPLAY_ENABLED: 'true',
        CHOCO_EDGE_SPARKPLUG_ENABLED: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const url = await vi.waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`gateway exited ${child.exitCode}:\n${out}`);
        const line = out.split('\n').find((l) => l.includes('HTTP server listening'));
        if (!line) throw new Error('not listening yet');
        return (JSON.parse(line) as { url: string }).url;
      },
      { timeout: 90_000, interval: 100 },
    );
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { status: string }).status).toBe('ok');
    // Sparkplug stores its bdSeq once it is connected to the embedded broker, then reports itself online.
    await vi.waitFor(async () => expect(await (await fetch(`${url}/healthz`)).text()).toMatch(/online as choco-edge\//), { timeout: 60_000, interval: 200 });
    child.kill('SIGTERM');
    expect(await exit, out).toBe(0);
    expect(out).not.toMatch(/"level":(50|60)/);
    const store = await SeriesStore.open(join(data, 'store'));
    try {
      expect(await store.getValue<number>('sparkplug.bdSeq')).toBe(0);
    } finally {
      await store.close();
    }
  }, 180_000);
});
