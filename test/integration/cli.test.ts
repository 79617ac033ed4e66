import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAIN, gatewayEnv } from '../helpers/process.js';
import { formatSimulation } from '../../models/eval/simulate.js';

const require = createRequire(import.meta.url);

/** tsx by its file, so that the CLI can also run from another current folder. */
const TSX = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

/** The real CLI in a child process (in `cwd` when given): exit code and both streams. */
function cli(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], { env: gatewayEnv({ CHOCO_EDGE_LOG_LEVEL: 'info', ...env }), stdio: ['ignore', 'pipe', 'pipe'], cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'choco-cli-'));
const file = (name: string, text: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
/** One sentence: a single line on stderr, no stack trace, no raw errno dump. */
const oneSentence = (stderr: string) => {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at |node:internal|Unhandled|errno:/);
};

describe('check-config refuses what start refuses, before start opens anything', () => {
  const emptySecret = file('empty-token', '\n');
  const secretDir = join(dir, 'token-dir');
  mkdirSync(secretDir);
  const cases: Array<{ name: string; env: Record<string, string>; message: RegExp }> = [
    { name: 'a cron field of 99', env: { CHOCO_EDGE_CONFIG: file('cron.yaml', 'scheduler:\n  jobs:\n    priceIngestion: { cron: "99 * * * *" }\n') }, message: /scheduler\/jobs\/priceIngestion\/cron: job priceIngestion: the cron expression "99 \* \* \* \*" is invalid: 99 is not a valid minute \(0-59;/ },
    { name: 'a cron expression with 4 fields', env: { CHOCO_EDGE_CONFIG: file('cron4.yaml', 'scheduler:\n  jobs:\n    planning: { cron: "*/61 * * *" }\n') }, message: /^.*\/scheduler\/jobs\/planning\/cron: job planning: the cron expression "\*\/61 \* \* \*" has 4 fields; it needs 5 \(minute hour day-of-month month week-day, e\.g\. "0 3 \* \* \*" for 03:00 every day\) or 6 \(a seconds field first\)$/m },
    { name: 'a missing secret file', env: { CHOCO_EDGE_SOURCES_ESIOS_TOKEN_FILE: join(dir, 'no-such-token') }, message: /sources\/esios\/token: secret file .*no-such-token does not exist/ },
    { name: 'an empty secret file', env: { CHOCO_EDGE_HTTP_TOKEN_FILE: emptySecret }, message: /http\/token: secret file .*empty-token is empty/ },
    { name: 'an HTTPS certificate that is not there', env: { CHOCO_EDGE_HTTP_TLS_CERT: join(dir, 'no-cert.pem'), CHOCO_EDGE_HTTP_TLS_KEY: emptySecret }, message: /\/http\/tls\/cert: file .*no-cert\.pem: no such file/ },
    { name: 'a directory as secret file', env: { CHOCO_EDGE_MQTT_EXTERNAL_PASSWORD_FILE: secretDir }, message: /mqtt\/external\/password: secret file .*token-dir is a directory/ },
  ];
  it.each(cases)('$name: check-config and start both exit 2 with the same message; start opens no port', async ({ env, message }) => {
    const [check, start] = await Promise.all([cli(['check-config'], env), cli(['start'], env)]);
    expect(check.status, check.stderr).toBe(2);
    expect(check.stderr).toMatch(message);
    expect(start.status, start.stderr + start.stdout).toBe(2);
    expect(start.stderr).toMatch(message);
    expect(start.stdout).not.toMatch(/listening|MQTT connected|model loaded/);
  }, 90_000);

  it('keeps the whole YAML error with line and column', async () => {
    const r = await cli(['check-config', '--config', file('bad.yaml', 'http:\n  port: 8080\n   host: x\n')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/at line 2, column 9:\n\n {2}port: 8080\n {8}\^/);
  });

  it('hints that enabled: yes is text in YAML', async () => {
    const r = await cli(['check-config', '--config', file('yes.yaml', 'sparkplug:\n  enabled: yes\n')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/\/sparkplug\/enabled: .*got "yes" \(write true or false: YAML reads yes as text\)/);
  });

  it('names the config file it actually loaded, also when it came from CHOCO_EDGE_CONFIG', async () => {
    const path = file('ok.yaml', 'site: { id: test-site }\n');
    const r = await cli(['check-config'], { CHOCO_EDGE_CONFIG: path });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toContain(path);
    const none = await cli(['check-config']);
    expect(none.stdout.split('\n')[0]).toMatch(/no config file/);
  });
});

describe('CLI errors are one clear sentence and exit 2', () => {
  it('restore --from a missing file', async () => {
    const r = await cli(['restore', '--from', join(dir, 'missing.jsonl.gz')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--from .*missing\.jsonl\.gz: no such file/);
    oneSentence(r.stderr);
  });

  it('restore --from a file that is not gzip', async () => {
    const r = await cli(['restore', '--from', file('plain.txt', 'not a backup\n')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/plain\.txt: is not gzip-compressed; expected a \.jsonl\.gz file written by choco-edge backup/);
    expect(r.stderr).not.toMatch(/incorrect header check/);
    oneSentence(r.stderr);
  });

  it('start with its HTTP port taken: one sentence naming the setting and its variable, exit 2, nothing written', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((done) => blocker.listen({ host: '127.0.0.1', port: 0 }, () => done()));
    const port = (blocker.address() as import('node:net').AddressInfo).port;
    const dataDir = join(dir, 'port-taken');
    try {
      const r = await cli(['start'], { CHOCO_EDGE_DATA_DIR: dataDir, CHOCO_EDGE_HTTP_HOST: '127.0.0.1', CHOCO_EDGE_HTTP_PORT: String(port), CHOCO_EDGE_MQTT_EMBEDDED_PORT: '0', CHOCO_EDGE_MQTT_EMBEDDED_WS_PORT: '0' });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain(`the gateway cannot listen on 127.0.0.1:${port} (http.port, CHOCO_EDGE_HTTP_PORT): the port is in use`);
      oneSentence(r.stderr);
      expect(existsSync(join(dataDir, 'store'))).toBe(false);
    } finally {
      blocker.close();
    }
  });

  it('check-config warns about a keyed source switched on without its key, and is quiet once the key is there', async () => {
    const missing = await cli(['check-config'], { CHOCO_EDGE_SOURCES_ESIOS_ENABLED: 'true' });
    expect(missing.status, missing.stderr).toBe(0);
    expect(missing.stderr).toMatch(/warning: esios is switched on but will not run: no token: set CHOCO_EDGE_SOURCES_ESIOS_TOKEN/);
    const withToken = await cli(['check-config'], { CHOCO_EDGE_SOURCES_ESIOS_ENABLED: 'true', CHOCO_EDGE_SOURCES_ESIOS_TOKEN: 'x'.repeat(32) });
    expect(withToken.status, withToken.stderr).toBe(0);
    expect(withToken.stderr).not.toMatch(/warning: esios/);
    // No warning is left on the defaults (the weekly cleanup runs at 03:00, outside the hour DST skips and repeats).
    expect(withToken.stderr.trim().split('\n').filter((l) => l.startsWith('warning'))).toEqual([]);
  });

  it('eval with a missing data file', async () => {
    const r = await cli(['eval', '--model', 'price-forecaster', '--prices', join(dir, 'missing.csv.gz')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--prices .*missing\.csv\.gz: no such file/);
    expect(r.stderr).not.toMatch(/ENOENT/);
    oneSentence(r.stderr);
  });

  it('simulate over days the prices do not cover: one sentence, exit 2, what the file covers, no NaN', async () => {
    const hours = Array.from({ length: 48 }, (_, i) => `${new Date(Date.UTC(2018, 0, 1) + i * 3_600_000).toISOString().replace('.000', '')},${50 + i}`);
    const prices = file('two-days.csv', `datetime_utc,price_es_eur_mwh\n${hours.join('\n')}\n`);
    const r = await cli(['simulate', '--from', '2019-03-01', '--to', '2019-03-03', '--prices', prices, '--decision-hour', '14']);
    expect(r.status, r.stderr + r.stdout).toBe(2);
    expect(r.stderr).toMatch(/--prices .*two-days\.csv does not cover any whole day from 2019-03-01 to 2019-03-03: they cover 2018-01-01 to 2018-01-02/);
    expect(r.stdout + r.stderr).not.toMatch(/NaN|Infinity/);
    oneSentence(r.stderr);
  });

  it('the simulate report never prints NaN or Infinity (one day, all plans cost the same)', () => {
    const day = { date: '2018-01-01', planEur: 10, baselineEur: 10, hindsightEur: 10, priceSource: 'published' as const, method: 'milp', liveEur: 10, moves: 0, liveBroke: false };
    const text = formatSimulation({ setup: 'plan fixed at 14:00 the day before on published prices; no weather', days: [day], skipped: [], totals: { planEur: 10, baselineEur: 10, hindsightEur: 10, kwh: 5, liveEur: 10, moves: 0 } }, '2018-01-01', '2018-01-02');
    expect(text).toMatch(/share of the perfect-hindsight saving kept: n\/a/);
    expect(text).not.toMatch(/NaN|Infinity/);
    const zero = formatSimulation({ setup: 'plan fixed at 14:00 the day before on published prices; no weather', days: [{ ...day, planEur: 0, baselineEur: 0, hindsightEur: 0, liveEur: 0 }], skipped: [], totals: { planEur: 0, baselineEur: 0, hindsightEur: 0, kwh: 0, liveEur: 0, moves: 0 } }, '2018-01-01', '2018-01-02');
    expect(zero).not.toMatch(/NaN|Infinity/);
  });

  it('simulate and eval take several --prices files separated by commas, and name the one that is missing', async () => {
    const { FIXTURES } = await import('../helpers/fixture-server.js');
    const hourly = join(FIXTURES, 'models/omie_es_2025-11.csv.gz');
    const quarterHours = join(FIXTURES, 'models/omie_es_2025-08-20_2025-11-15_mtu.csv.gz');
    const ok = await cli(['simulate', '--from', '2025-11-03', '--to', '2025-11-05', '--prices', `${hourly},${quarterHours}`, '--decision-hour', '14']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/simulation 2025-11-03 → 2025-11-05: 2 days planned/);
    const trailing = await cli(['simulate', '--from', '2025-11-03', '--to', '2025-11-05', '--prices', `${hourly},`, '--decision-hour', '14']);
    expect(trailing.status, trailing.stderr).toBe(0);
    const none = await cli(['simulate', '--from', '2025-11-03', '--to', '2025-11-05', '--prices', ',']);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/--prices names no file/);
    const missing = await cli(['eval', '--model', 'price-forecaster', '--prices', `${hourly},${join(dir, 'second-missing.csv.gz')}`, '--from', '2025-11-03', '--to', '2025-11-05']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--prices .*second-missing\.csv\.gz: no such file/);
    oneSentence(missing.stderr);
  }, 120_000);

  it('simulate with a bad --max-moves or --move-rule: one sentence, exit 2, no report', async () => {
    const prices = new URL('../fixtures/models/omie_es_2025-11.csv.gz', import.meta.url).pathname;
    const moves = await cli(['simulate', '--from', '2025-11-03', '--to', '2025-11-05', '--prices', prices, '--max-moves', '-1']);
    expect(moves.status).toBe(2);
    expect(moves.stderr).toMatch(/--max-moves "-1" must be a whole number ≥ 0/);
    expect(moves.stdout).toBe('');
    oneSentence(moves.stderr);
    const rule = await cli(['simulate', '--from', '2025-11-03', '--to', '2025-11-05', '--prices', prices, '--move-rule', 'some']);
    expect(rule.status).toBe(2);
    expect(rule.stderr).toMatch(/--move-rule is budget or all-or-nothing/);
    oneSentence(rule.stderr);
    const intraday = await cli(['simulate', '--from', '2025-11-03', '--to', '2025-11-05', '--prices', prices, '--intraday', 'yes']);
    expect(intraday.status).toBe(2);
    expect(intraday.stderr).toMatch(/--intraday is on or off/);
    const margin = await cli(['simulate', '--from', '2025-11-03', '--to', '2025-11-05', '--prices', prices, '--intraday-margin', '-1']);
    expect(margin.status).toBe(2);
    expect(margin.stderr).toMatch(/--intraday-margin "-1" must be a number of °C ≥ 0/);
    expect(margin.stdout).toBe('');
    oneSentence(margin.stderr);
    const z = await cli(['simulate', '--from', '2025-11-03', '--to', '2025-11-05', '--prices', prices, '--ambient-z', 'high']);
    expect(z.status).toBe(2);
    expect(z.stderr).toMatch(/--ambient-z "high" must be a number from 0 to 4/);
    oneSentence(z.stderr);
  }, 60_000);

  it('simulate with --from after --to', async () => {
    const prices = file('prices.csv', 'datetime,price\n');
    const r = await cli(['simulate', '--from', '2025-01-15', '--to', '2025-01-01', '--prices', prices]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--from 2025-01-15 must come before --to 2025-01-01/);
    expect(r.stdout).not.toMatch(/NaN/);
    oneSentence(r.stderr);
  });
});

describe('commissioning mistakes: one sentence, exit 2, nothing left behind', () => {
  const { createServer } = require('node:net') as typeof import('node:net');
  const listen = async (server: import('node:net').Server): Promise<number> => {
    await new Promise<void>((done) => server.listen({ host: '127.0.0.1', port: 0 }, () => done()));
    return (server.address() as import('node:net').AddressInfo).port;
  };
  const env = (port: number) => ({ CHOCO_EDGE_HTTP_HOST: '127.0.0.1', CHOCO_EDGE_HTTP_PORT: String(port) });

  it('check-config refuses a port that start would refuse, with the same sentence', async () => {
    const blocker = createServer();
    const port = await listen(blocker);
    try {
      const [check, start] = await Promise.all([cli(['check-config'], env(port)), cli(['start'], env(port))]);
      expect(check.status, check.stderr).toBe(2);
      expect(check.stderr).toContain(`cannot listen on 127.0.0.1:${port} (http.port, CHOCO_EDGE_HTTP_PORT): the port is in use`);
      oneSentence(check.stderr);
      expect(check.stderr.trim()).toBe(start.stderr.trim());
      expect(check.stdout).not.toMatch(/configuration is valid/);
    } finally {
      blocker.close();
    }
  });

  it('check-config only warns when the port is held by the running choco-edge being reconfigured (a restart frees it)', async () => {
    const { createServer: createHttp } = await import('node:http');
    const running = createHttp((req, res) => res.end(req.url === '/health' ? JSON.stringify({ status: 'ok', version: '0.1.0', uptime_s: 5 }) : '{}'));
    const port = await listen(running as unknown as import('node:net').Server);
    try {
      const r = await cli(['check-config'], env(port));
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`warning: the gateway cannot listen on 127\\.0\\.0\\.1:${port} \\(http\\.port, CHOCO_EDGE_HTTP_PORT\\): the port is in use by the choco-edge 0\\.1\\.0 answering on it`));
      expect(r.stdout).toMatch(/configuration is valid/);
    } finally {
      running.close();
    }
  });

  it('backup --out without a value and backup without --out: exit 2, nothing written in the current folder', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'choco-backup-cwd-'));
    const noValue = await cli(['backup', '--out'], {}, cwd);
    expect(noValue.status, noValue.stderr).toBe(2);
    expect(noValue.stderr).toMatch(/--out needs a value \(e\.g\. --out \/var\/backups\/choco-edge\//);
    oneSentence(noValue.stderr);
    const flagNext = await cli(['backup', '--out', '--config', join(dir, 'x.yaml')], {}, cwd);
    expect(flagNext.status).toBe(2);
    expect(flagNext.stderr).toMatch(/--out needs a value/);
    const none = await cli(['backup'], {}, cwd);
    expect(none.status, none.stderr).toBe(2);
    expect(none.stderr).toMatch(/backup needs --out FILE\.jsonl\.gz: where to write the backup/);
    oneSentence(none.stderr);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('eval and simulate given the wrong kind of file: which file and what it should be, exit 2, no stack', async () => {
    const weather = file('weather.csv', 'dt_iso,city_name,temp,humidity\n2018-01-01 00:00:00+01:00,Seville,283.15,80\n');
    const prices = file('prices-ok.csv', 'datetime_utc,price_es_eur_mwh\n2018-01-01T00:00:00Z,50\n');
    const cases: Array<[string[], RegExp]> = [
      [['eval', '--model', 'price-forecaster', '--prices', weather], /weather\.csv: is not a price file: it has no price column/],
      [['simulate', '--from', '2018-01-01', '--to', '2018-01-02', '--prices', weather], /weather\.csv: is not a price file/],
      [['eval', '--model', 'production-recommender', '--prices', prices, '--weather', prices], /prices-ok\.csv: is not a weather file/],
      [['eval', '--model', 'price-forecaster', '--prices', file('empty.csv', '')], /empty\.csv: is empty \(expected a CSV file with a header row\)/],
      [['eval', '--model', 'price-forecaster', '--prices', file('doc.json', '{"prices": [1, 2, 3]}\n')], /doc\.json: is not a price file/],
      [['eval', '--model', 'price-forecaster', '--prices', file('notes.csv', 'just a line of notes\n')], /notes\.csv: is not a CSV file with a header row/],
      [['eval', '--model', 'price-forecaster', '--prices', file('blob.csv', Buffer.from([0x50, 0x4b, 3, 4, 0, 0, 0, 0]))], /blob\.csv: is not a CSV text file/],
      [['simulate', '--from', '2018-03-21', '--to', '2018-03-23', '--prices', new URL('../../plugins/replay/sample/omie_es_2018-03.csv', import.meta.url).pathname, '--drivers', weather], /weather\.csv: is not a drivers file/],
      [['eval', '--model', 'price-forecaster', '--prices'], /--prices needs a value/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      oneSentence(r.stderr);
    }
  }, 240_000);

  it('deploy/install.sh --root without a folder: one sentence, exit 2, nothing installed', () => {
    const INSTALL = new URL('../../deploy/install.sh', import.meta.url).pathname;
    const cwd = mkdtempSync(join(tmpdir(), 'choco-install-arg-'));
    for (const args of [['--root'], ['--root', '--no-systemctl'], ['--root', '']]) {
      const r = spawnSync('bash', [INSTALL, ...args], { encoding: 'utf8', cwd });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^install\.sh: --root needs a folder, e\.g\. --root \/tmp\/choco-root/);
      expect(r.stderr).not.toMatch(/unbound variable/);
      oneSentence(r.stderr);
    }
    const rollback = spawnSync('bash', [INSTALL, '--root', cwd, '--no-systemctl', '--rollback'], { encoding: 'utf8' });
    expect(rollback.status).toBe(2);
    expect(rollback.stderr).toMatch(/no previous version to roll back to/);
    expect(readdirSync(cwd)).toEqual([]);
  });
});
