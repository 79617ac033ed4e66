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

  it('install.sh lays out app, config, credentials and journald limits under a root', () => {
    const root = mkdtempSync(join(tmpdir(), 'choco-install-'));
    mkdirSync(join(root, 'etc/choco-edge/credentials'), { recursive: true });
    writeFileSync(join(root, 'etc/choco-edge/credentials/esios_token'), 'secret\n');
    execFileSync('bash', [new URL('../../deploy/install.sh', import.meta.url).pathname, '--root', root, '--no-systemctl', '--copy-modules'], { stdio: 'ignore', timeout: 540_000 });
    expect(existsSync(join(root, 'opt/choco-edge/dist/gateway/main.js'))).toBe(true);
    expect(existsSync(join(root, 'opt/choco-edge/models/price-forecaster/1.0.0/model.json'))).toBe(true);
    expect(readFileSync(join(root, 'etc/choco-edge/config.yaml'), 'utf8')).toContain('site:');
    expect(existsSync(join(root, 'etc/systemd/system/choco-edge.service'))).toBe(true);
    const creds = readFileSync(join(root, 'etc/systemd/system/choco-edge.service.d/credentials.conf'), 'utf8');
    expect(creds).toContain('LoadCredential=esios_token:/etc/choco-edge/credentials/esios_token');
    expect(creds).toContain('Environment=CHOCO_EDGE_SOURCES_ESIOS_TOKEN_FILE=%d/esios_token');
    expect(creds).not.toContain('aemet');
    expect(readFileSync(join(root, 'etc/systemd/journald.conf.d/choco-edge.conf'), 'utf8')).toMatch(/SystemMaxUse=200M/);
    const check = spawnSync(process.execPath, [join(root, 'opt/choco-edge/dist/gateway/main.js'), 'check-config', '--config', join(root, 'etc/choco-edge/config.yaml')], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
  }, 600_000); // install.sh builds and copies node_modules: minutes on a busy machine
});
