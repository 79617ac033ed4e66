import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const unit = readFileSync(new URL('../../deploy/choco-edge.service', import.meta.url), 'utf8');
const directives = (key: string) => unit.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));

describe('deploy', () => {
  it('the unit is Type=notify with a watchdog, restarts always, runs as its own user, hardened', () => {
    expect(directives('Type')).toEqual(['notify']);
    expect(directives('NotifyAccess')).toEqual(['all']);
    expect(Number(directives('WatchdogSec')[0])).toBeGreaterThan(0);
    expect(directives('Restart')).toEqual(['always']);
    expect(directives('User')).toEqual(['choco-edge']);
    expect(directives('ProtectSystem')).toEqual(['strict']);
    expect(directives('ReadWritePaths')).toEqual(['/var/lib/choco-edge']);
    expect(directives('NoNewPrivileges')).toEqual(['yes']);
    expect(directives('PrivateTmp')).toEqual(['yes']);
    expect(directives('CapabilityBoundingSet')).toEqual(['']);
  });

  it.skipIf(!existsSync('/usr/bin/systemd-analyze'))('passes systemd-analyze verify', () => {
    const r = spawnSync('systemd-analyze', ['verify', new URL('../../deploy/choco-edge.service', import.meta.url).pathname], { encoding: 'utf8' });
    expect(r.stderr.split('\n').filter((l) => /error|invalid|unknown/i.test(l) && !/User|Group|choco-edge.*not exist|Failed to prepare/.test(l))).toEqual([]);
  });

  const INSTALL = new URL('../../deploy/install.sh', import.meta.url).pathname;
  const UNINSTALL = new URL('../../deploy/uninstall.sh', import.meta.url).pathname;

  it('install.sh lays out app, a safe config and credentials under a root; re-install leaves no stale file; uninstall keeps or purges', () => {
    const root = mkdtempSync(join(tmpdir(), 'choco-install-'));
    mkdirSync(join(root, 'etc/choco-edge/credentials'), { recursive: true });
    writeFileSync(join(root, 'etc/choco-edge/credentials/esios_token'), 'secret\n');
    const install = (...extra: string[]) => execFileSync('bash', [INSTALL, '--root', root, '--no-systemctl', '--copy-modules', ...extra], { encoding: 'utf8', timeout: 540_000 });
    const out = install();
    expect(existsSync(join(root, 'opt/choco-edge/dist/gateway/main.js'))).toBe(true);
    expect(existsSync(join(root, 'opt/choco-edge/models/price-forecaster/1.0.0/model.json'))).toBe(true);
    expect(existsSync(join(root, 'etc/systemd/system/choco-edge.service'))).toBe(true);
    const creds = readFileSync(join(root, 'etc/systemd/system/choco-edge.service.d/credentials.conf'), 'utf8');
    expect(creds).toContain('LoadCredential=esios_token:/etc/choco-edge/credentials/esios_token');
    expect(creds).toContain('Environment=CHOCO_EDGE_SOURCES_ESIOS_TOKEN_FILE=%d/esios_token');
    expect(creds).not.toContain('aemet');
    // The journald drop-in is opt-in, nothing is enabled or started, and the next steps are printed.
    expect(existsSync(join(root, 'etc/systemd/journald.conf.d/choco-edge.conf'))).toBe(false);
    expect(out).toMatch(/next steps:[\s\S]*check-config[\s\S]*systemctl enable --now choco-edge/);
    expect(readFileSync(INSTALL, 'utf8')).not.toMatch(/^\s*systemctl restart systemd-journald/m);
    // The installed config is the safe one: no devices, no lines, no outputs, and it passes check-config.
    const check = spawnSync(process.execPath, [join(root, 'opt/choco-edge/dist/gateway/main.js'), 'check-config', '--config', join(root, 'etc/choco-edge/config.yaml')], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(check.status, check.stderr).toBe(0);
    const config = JSON.parse(check.stdout.slice(check.stdout.indexOf('\n') + 1)) as { modbus: { devices: unknown[] }; lines: unknown[]; sparkplug: { enabled: boolean }; homeAssistant: { enabled: boolean }; uplink: { enabled: boolean } };
    expect(config.modbus.devices).toEqual([]);
    expect(config.lines).toEqual([]);
    expect([config.sparkplug.enabled, config.homeAssistant.enabled, config.uplink.enabled]).toEqual([false, false, false]);
    // Re-install: a file left in the app directory by a previous version is gone; the edited config is kept.
    writeFileSync(join(root, 'opt/choco-edge/dist/stale-from-old-version.js'), '');
    writeFileSync(join(root, 'etc/choco-edge/config.yaml'), 'site: { id: edited }\n');
    install('--journald');
    expect(existsSync(join(root, 'opt/choco-edge/dist/stale-from-old-version.js'))).toBe(false);
    expect(existsSync(join(root, 'opt/choco-edge.new'))).toBe(false);
    expect(readFileSync(join(root, 'etc/choco-edge/config.yaml'), 'utf8')).toContain('edited');
    expect(readFileSync(join(root, 'etc/systemd/journald.conf.d/choco-edge.conf'), 'utf8')).toMatch(/SystemMaxUse=200M/);
    // Uninstall without --purge keeps data and config and does not say "purged"; with --purge it deletes them.
    mkdirSync(join(root, 'var/lib/choco-edge/store'), { recursive: true });
    const kept = execFileSync('bash', [UNINSTALL, '--root', root, '--no-systemctl'], { encoding: 'utf8' });
    expect(kept).not.toMatch(/purged/);
    expect(existsSync(join(root, 'opt/choco-edge'))).toBe(false);
    expect(existsSync(join(root, 'var/lib/choco-edge/store'))).toBe(true);
    expect(existsSync(join(root, 'etc/choco-edge/config.yaml'))).toBe(true);
    const purged = execFileSync('bash', [UNINSTALL, '--root', root, '--no-systemctl', '--purge'], { encoding: 'utf8' });
    expect(purged).toMatch(/purged/);
    expect(existsSync(join(root, 'var/lib/choco-edge'))).toBe(false);
    expect(existsSync(join(root, 'etc/choco-edge'))).toBe(false);
  }, 600_000);

  it('install.sh refuses a Node older than 20.19 and says how to get one on Debian 12', () => {
    const bin = mkdtempSync(join(tmpdir(), 'choco-old-node-'));
    writeFileSync(join(bin, 'node'), '#!/bin/sh\n# A Debian 12 node: 18.19.0\nif [ "$1" = -p ]; then echo 18.19.0; exit 0; fi\nexit 1\n', { mode: 0o755 });
    const root = mkdtempSync(join(tmpdir(), 'choco-install-old-'));
    const r = spawnSync('bash', [INSTALL, '--root', root, '--no-systemctl'], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/needs Node\.js 20\.19 or newer and npm; this node is 18\.19\.0/);
    expect(r.stderr).toMatch(/Debian 12/);
    expect(existsSync(join(root, 'opt'))).toBe(false);
  });
});
