import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../gateway/config/load.js';
import { hashPassword } from '../../gateway/mqtt/auth.js';
import { MAIN } from '../helpers/process.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = (heading: string) => {
  const start = README.indexOf(heading);
  expect(start, `README has no "${heading}"`).toBeGreaterThanOrEqual(0);
  const next = README.slice(start + heading.length).search(/\n#{2,3} /);
  return README.slice(start, next < 0 ? undefined : start + heading.length + next);
};
const blocks = (text: string, lang: string) => [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!.replace(/^ {2}/gm, ''));

describe('README', () => {
  it('lists every command of `choco-edge help`', () => {
    const help = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'help'], { encoding: 'utf8' }).stdout;
    const commands = [...help.slice(help.indexOf('commands:')).matchAll(/^ {2}([a-z][a-z-]+) /gm)].map((m) => m[1]!);
    expect(commands.length).toBeGreaterThanOrEqual(8);
    const table = section('### Every command');
    for (const c of commands) expect(table, `command ${c} missing`).toMatch(new RegExp('\\| `' + c + '[ `]'));
  });

  it('has a YAML example of MQTT users (viewer and line role) that the gateway accepts', () => {
    const [yaml] = blocks(section('## Security'), 'yaml');
    const hash = hashPassword('test-password');
    const config = loadConfig({ env: {}, overrides: parseYaml(yaml!.replaceAll('scrypt:…', hash)) as Record<string, unknown> });
    const users = config.mqtt.embedded.users;
    expect(users.map((u) => u.role)).toEqual(expect.arrayContaining(['viewer', 'line']));
    expect(users.find((u) => u.role === 'line')!.lines).toEqual(['conching']);
  });

  it('shows a line command and its acknowledgement, and the Modbus valid-until word order', () => {
    const text = section('### A line command and its acknowledgement');
    const [command, acks] = blocks(text, 'json');
    const payload = JSON.parse(command!) as Record<string, unknown>;
    expect(Object.keys(payload).sort()).toEqual(['at', 'line', 'next', 'now', 'plan_id', 'process', 'v', 'valid_until']);
    const sets = acks!.trim().split('\n').map((l) => JSON.parse(l) as { command: string; plan_id?: string; batch?: number });
    // The acknowledgement names the plan and the batch the line runs (the command's `now.batch`).
    expect(sets[0]).toEqual({ command: 'ack', plan_id: payload.plan_id, batch: (payload.now as { batch: number }).batch });
    expect(text).toMatch(/high word first/);
    expect(text).toContain('seconds = reg[validUntil] * 65536 + reg[validUntil + 1]');
  });

  it('the PLC commissioning guide: its worked example is what the gateway writes (valid-until words, setpoint)', async () => {
    const text = section('### Commissioning a PLC: write nothing first');
    const { COMMAND_CODES } = await import('../../plugins/modbus-lines/index.js');
    const { formatLocalIso } = await import('../../gateway/time/tz.js');
    const seconds = Date.parse('2025-01-15T13:00:00Z') / 1000;
    expect(formatLocalIso(seconds * 1000, 'Europe/Madrid')).toMatch(/^2025-01-15T14:00:00(\.000)?\+01:00$/);
    const row = (address: number) => Number(new RegExp(`\\| ${address} \\| (\\d+)`).exec(text)?.[1]);
    expect(row(100)).toBe(COMMAND_CODES.run);
    expect(row(101)).toBe(150 * 10);
    expect(row(102) * 65536 + row(103)).toBe(seconds);
    expect(text).toContain(`Unix ${seconds}`);
    expect(text).toMatch(/POST .*\/api\/outputs\/dry-run/s);
  });

  it('the dry run shows as many block values in GET /api/outputs as it says, and the CSV routes with their required range', () => {
    const text = section('### Commissioning a PLC: write nothing first');
    const said = /the block's (\w+) values/.exec(text)?.[1];
    const example = /`("100 command"[^`]*)`/.exec(text)?.[1] ?? '';
    const count = example.split(',').filter((x) => /"\d+ [a-z_0-9]+": \d+/.test(x.trim())).length;
    expect(said, 'the sentence before the /api/outputs example').toBe(['zero', 'one', 'two', 'three', 'four', 'five', 'six'][count]);
    // Called as written, /api/bill/days.csv and /api/savings/days.csv answer 400 without from and to.
    for (const m of README.matchAll(/\/api\/(bill|savings)\/days\.csv(\S*)/g)) expect(m[2], m[0]).toMatch(/^\?from=/);
  });

  it('the demo prints its curl with the URL quoted (a ? in an unquoted URL is a glob to the shell)', () => {
    const main = readFileSync(MAIN, 'utf8');
    const printed = [...main.matchAll(/`curl ([^`]*)`/g)].map((m) => m[1]!);
    expect(printed.length).toBeGreaterThan(0);
    for (const p of printed) expect(p).toMatch(/^'[^']*'$/);
    expect(section('### See data flowing in seconds, offline')).not.toMatch(/curl http/);
  });
});
