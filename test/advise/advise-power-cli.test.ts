import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { MAIN, gatewayEnv } from '../helpers/process.js';

const run = promisify(execFile);
const QH = 900_000;

/** `choco-edge advise-power` as a real child process (tsx), on a readings file and a config with the contract. */
async function advise(readings: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'choco-advise-'));
  writeFileSync(join(dir, 'readings.csv'), readings);
  writeFileSync(
    join(dir, 'config.yaml'),
    ['energy:', '  contract:', '    tariff: 6.1TD', '    contractedKw: [300, 300, 300, 300, 300, 300]', '    powerPriceEurKwYear: [26.4, 22.1, 11.6, 9.1, 2.9, 1.4]', '    tollsAndChargesEurKwh: [0.031, 0.024, 0.012, 0.007, 0.003, 0.002]', '    energy: { indexed: { marginEurMwh: 6 } }', ''].join('\n'),
  );
  try {
    const r = await run(process.execPath, ['--import', 'tsx', MAIN, 'advise-power', '--readings', join(dir, 'readings.csv'), '--config', join(dir, 'config.yaml')], { env: gatewayEnv() });
    return { code: 0, ...r };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('choco-edge advise-power', () => {
  it('ends with the advice line; bad input is one sentence and exit 2', async () => {
    // January 2025: 100 kW, and 420 kW from 10:00 to 11:00 on each of the first 10 days (24 quarter-hours in P1 on weekdays, 16 in P6 on 1, 4, 5, 6 January).
    const start = Date.parse('2024-12-31T23:00:00Z');
    const rows = ['datetime_utc,kwh'];
    for (let t = start, i = 0; t < start + 31 * 86_400_000; t += QH, i++) {
      const local = new Date(t + 3_600_000);
      const spike = local.getUTCDate() <= 10 && local.getUTCHours() === 10;
      rows.push(`${new Date(t).toISOString().replace('.000Z', 'Z')},${spike ? 105 : 25}`);
    }
    const ok = await advise(`${rows.join('\n')}\n`);
    // One month of readings: the advice is printed, with a warning line per reason on stderr (the fresh tester's
    // 4 days gave 800 kW in all six periods without a word).
    expect(ok.code).toBe(0);
    expect(ok.stderr.trim().split('\n')).toEqual([
      "choco-edge advise-power: warning: the readings cover 31 days (1 month), less than a full year: the advice weighs 31/365 of a year's power term against these months' excess only and misses the seasons not in the readings; do not change the contract on it without a year of readings",
      'choco-edge advise-power: warning: P3, P4, P5 have no quarter-hours in the readings: they keep their current contracted power (moved only as far as the order P1 ≤ … ≤ P6 requires), as without readings there is no evidence to change it and 0 kW cannot be contracted',
      "choco-edge advise-power: warning: P1 (756), P2 (588) have fewer than 960 quarter-hours (10 days' worth) in the readings: little evidence for their advice",
    ]);
    const last = ok.stdout.trim().split('\n').at(-1)!;
    const m = /^advice: P1=([\d.]+) P2=([\d.]+) P3=([\d.]+) P4=([\d.]+) P5=([\d.]+) P6=([\d.]+) current_eur=(\d+\.\d\d) advised_eur=(\d+\.\d\d)$/.exec(last);
    expect(m, last).not.toBeNull();
    const kw = m!.slice(1, 7).map(Number);
    expect(kw.every((x, i) => i === 0 || x >= kw[i - 1]!)).toBe(true);
    // P1 ≤ … ≤ P6: raising P1 raises all six, 73.5 €/kW·year × 31/365 ≈ 6.24 €/kW, against the excess it saves,
    // 1.4064 × sqrt(24) ≈ 6.89 €/kW in P1 alone: the advice covers the spikes in every period.
    expect(kw, ok.stdout).toEqual([420, 420, 420, 420, 420, 420]);
    expect(Number(m![8])).toBeLessThan(Number(m![7]));

    const bad = await advise(`${[rows[0], rows[2], rows[1], ...rows.slice(3)].join('\n')}\n`);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--readings .*row 3/);
    // the same readings in Wh (× 1000): refused as the bill refuses them, never advised 420 000 kW
    const wh = await advise(`${[rows[0], ...rows.slice(1).map((r) => r.replace(/,(\d+)$/, (_, k: string) => `,${Number(k) * 1000}`))].join('\n')}\n`);
    expect(wh.code).toBe(2);
    expect(wh.stdout).toBe('');
    expect(wh.stderr.trim()).toMatch(/^choco-edge: --readings \S+ row 2: 25000 kWh in the quarter-hour 2024-12-31T23:00:00Z is an average of 100000 kW, more than 10 × the largest contracted power \(\d+ kW\)/);
  }, 60_000);
});
