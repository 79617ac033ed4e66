import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, envName, loadConfig, readSecret, redactConfig } from '../../gateway/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'choco-config-'));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('configuration', () => {
  it('runs on defaults with no file at all', () => {
    const c = loadConfig({ env: {} });
    expect(c.http.port).toBe(8080);
    expect(c.mqtt.embedded.port).toBe(1883);
    expect(c.dataDir).toBe('./data');
    expect(c.scheduler.jobs.backfill.cron).toBe('0 1 * * *');
    expect(c.sources.esios.enabled).toBe(false);
  });

  it('takes environment overrides named after the config path, typed by the schema', () => {
    const c = loadConfig({
      env: { CHOCO_EDGE_HTTP_PORT: '9090', CHOCO_EDGE_DATA_DIR: '/var/lib/x', CHOCO_EDGE_MQTT_EMBEDDED_PORT: '1999', CHOCO_EDGE_SOURCES_OMIE_ENABLED: 'false', CHOCO_EDGE_SOURCES_ESIOS_INDICATORS: '1001,600', CHOCO_EDGE_LOG_MODULES_MQTT: 'debug' },
    });
    expect(c.http.port).toBe(9090);
    expect(c.dataDir).toBe('/var/lib/x');
    expect(c.mqtt.embedded.port).toBe(1999);
    expect(c.sources.omie.enabled).toBe(false);
    expect(c.sources.esios.indicators).toEqual([1001, 600]);
    expect(c.log.modules.mqtt).toBe('debug');
    expect(envName(['mqtt', 'embedded', 'wsPort'])).toBe('CHOCO_EDGE_MQTT_EMBEDDED_WS_PORT');
  });

  it('says where a value is wrong, what was expected and what it got', () => {
    const path = file('bad.yaml', 'http:\n  port: "eighty"\nmqtt:\n  basee: x\n');
    try {
      loadConfig({ file: path, env: {} });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const text = (error as Error).message;
      expect(text).toContain('/http/port: expected integer, got "eighty"');
      expect(text).toMatch(/\/mqtt\/basee/);
    }
    expect(() => loadConfig({ env: { CHOCO_EDGE_HTTP_PORT: 'abc' } })).toThrow(/CHOCO_EDGE_HTTP_PORT: expected a number, got "abc"/);
    expect(() => loadConfig({ env: { CHOCO_EDGE_HTTP_PROT: '1' } })).toThrow(/CHOCO_EDGE_HTTP_PROT: no configuration setting has this name/);
  });

  it('says in one sentence which job has a bad cron expression and what is wrong, never the schema pattern', () => {
    const problem = (cron: string) => {
      try {
        loadConfig({ file: file(`cron-${cron.length}.yaml`, `scheduler:\n  jobs:\n    planning: { cron: ${JSON.stringify(cron)} }\n`), env: {} });
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    const four = problem('*/61 * * *');
    expect(four).toContain('/scheduler/jobs/planning/cron: job planning: the cron expression "*/61 * * *" has 4 fields; it needs 5 (minute hour day-of-month month week-day, e.g. "0 3 * * *" for 03:00 every day) or 6 (a seconds field first)');
    expect(four).not.toMatch(/match|\^|\\s/);
    expect(problem('*/61 * * * *')).toContain('job planning: the cron expression "*/61 * * * *" has the step /61 in its minute field, which only runs from 0 to 59: use a step from 1 to 59');
    expect(problem('0 25 * * *')).toContain('job planning: the cron expression "0 25 * * *" is invalid: 25 is not a valid hour (0-23;');
    expect(problem('*/15 * * * *')).toBe('accepted');
    expect(problem('0 */2 * * 1-5')).toBe('accepted');
  });

  it('refuses corrupt YAML and a file that is not a mapping with a clear error', () => {
    expect(() => loadConfig({ file: file('corrupt.yaml', 'http: [port: 1\n  x'), env: {} })).toThrow(/not valid YAML/);
    expect(() => loadConfig({ file: file('list.yaml', '- a\n- b\n'), env: {} })).toThrow(/mapping at the top level, got a list/);
    expect(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} })).toThrow(/does not exist/);
  });

  it('reads secrets from env or from files and never prints them', () => {
    const secretFile = file('token', 's3cr3t-from-file\n');
    const c = loadConfig({ env: { CHOCO_EDGE_SOURCES_ESIOS_TOKEN_FILE: secretFile, CHOCO_EDGE_HTTP_TOKEN: 'http-secret' } });
    expect(readSecret(c.sources.esios.token, 'esios')).toBe('s3cr3t-from-file');
    expect(readSecret(c.http.token, 'http')).toBe('http-secret');
    const printed = JSON.stringify(redactConfig(c));
    expect(printed).not.toContain('s3cr3t');
    expect(printed).not.toContain('http-secret');
    expect(printed).toContain('***');
    expect(() => readSecret({ file: join(dir, 'nope') }, 'sources.esios.token')).toThrow(/secret file .* does not exist/);
  });

  it('validates the shipped example configuration for the Linares plant', () => {
    const c = loadConfig({ file: new URL('../../config/linares.example.yaml', import.meta.url).pathname, env: {} });
    expect(c.site.id).toBe('linares');
  });
});

describe('shipped config files', () => {
  it('config/default.yaml is exactly the embedded defaults', () => {
    const fromFile = loadConfig({ file: new URL('../../config/default.yaml', import.meta.url).pathname, env: {} });
    expect(fromFile).toEqual(loadConfig({ env: {} }));
  });

  it('config/schema.json is the schema the gateway validates with (run `npm run schema` after changing it)', async () => {
    const { configJsonSchema } = await import('../../gateway/config/write-schema.js');
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(new URL('../../config/schema.json', import.meta.url), 'utf8')).toBe(configJsonSchema());
  });
});
