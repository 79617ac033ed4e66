import { describe, expect, it } from 'vitest';
import { MalformedPayloadError } from '../../gateway/util/errors.js';
import { localDayRange } from '../../gateway/time/tz.js';
import { parseEsiosIndicator } from '../../plugins/esios/parse.js';
import { parseOmieMarginal } from '../../plugins/omie/parse.js';
import { parseReeApidatos } from '../../plugins/ree/parse.js';
import { fixture } from '../helpers/fixture-server.js';

const H = 3_600_000;

describe('REE apidatos parser (recorded 2021-10-31, 25 hours)', () => {
  const series = parseReeApidatos(JSON.parse(fixture('ree/aiopvpc_PRICES_APIDATOS_2021_10_31.json')));
  it('matches series by id and keeps all 25 hours keyed by instant', () => {
    expect(series.map((s) => s.id).sort()).toEqual(['pvpc', 'spot_es']);
    const pvpc = series.find((s) => s.id === 'pvpc')!;
    expect(pvpc.slots).toHaveLength(25);
    const { start, end } = localDayRange('2021-10-31');
    expect(pvpc.slots[0]!.start).toBe(start);
    expect(pvpc.slots.at(-1)!.end).toBe(end);
    expect(pvpc.slots[0]!.value).toBe(171.48);
    expect(new Set(pvpc.slots.map((s) => s.start)).size).toBe(25);
  });

  it('refuses a payload with a value missing its number, as a whole', () => {
    const body = JSON.parse(fixture('ree/aiopvpc_PRICES_APIDATOS_2021_10_31.json'));
    body.included[0].attributes.values[5].value = null;
    expect(() => parseReeApidatos(body)).toThrow(MalformedPayloadError);
  });

  it('refuses naive timestamps and €/kWh values sent where €/MWh belong', () => {
    const naive = JSON.parse(fixture('ree/aiopvpc_PRICES_APIDATOS_2021_10_31.json'));
    naive.included[0].attributes.values[0].datetime = '2021-10-31T00:00:00';
    expect(() => parseReeApidatos(naive)).toThrow(/with offset/);
    const kwh = JSON.parse(fixture('ree/aiopvpc_PRICES_APIDATOS_2021_10_31.json'));
    const pvpc = kwh.included.find((i: { id: string }) => i.id === '1001');
    for (const v of pvpc.attributes.values) v.value = v.value / 1000;
    expect(() => parseReeApidatos(kwh)).toThrow(/look like €\/kWh/);
  });

  it('converts a series labelled €/kWh to €/MWh', () => {
    const body = JSON.parse(fixture('ree/aiopvpc_PRICES_APIDATOS_2021_10_31.json'));
    const pvpc = body.included.find((i: { id: string }) => i.id === '1001');
    pvpc.attributes.title = 'PVPC (€/kWh)';
    for (const v of pvpc.attributes.values) v.value = v.value / 1000;
    expect(parseReeApidatos(body).find((s) => s.id === 'pvpc')!.slots[0]!.value).toBeCloseTo(171.48, 6);
  });
});

describe('ESIOS indicator parser', () => {
  it('uses datetime, not the wrong datetime_utc, on the repeated DST hour', () => {
    const body = JSON.parse(fixture('esios/aiopvpc_PRICES_ESIOS_1001_2021_10_31.json'));
    const repeated = body.indicator.values.filter((v: { datetime: string; geo_id: number }) => v.geo_id === 8741 && v.datetime.startsWith('2021-10-31T02:00'));
    expect(repeated).toHaveLength(2);
    expect(repeated[1].datetime_utc).toBe('2021-10-31T00:00:00Z');
    const series = parseEsiosIndicator(body, 1001);
    expect(series.map((s) => s.id).sort()).toEqual(['pvpc', 'pvpc_baleares', 'pvpc_canarias', 'pvpc_ceuta', 'pvpc_melilla']);
    const pvpc = series.find((s) => s.id === 'pvpc')!;
    expect(pvpc.slots).toHaveLength(25);
    expect(pvpc.slots.map((s) => s.start)).toContain(Date.parse('2021-10-31T01:00:00Z'));
  });

  it('agrees with REE apidatos on the same day', () => {
    const esios = parseEsiosIndicator(JSON.parse(fixture('esios/aiopvpc_PRICES_ESIOS_1001_2021_10_31.json'))).find((s) => s.id === 'pvpc')!;
    const ree = parseReeApidatos(JSON.parse(fixture('ree/aiopvpc_PRICES_APIDATOS_2021_10_31.json'))).find((s) => s.id === 'pvpc')!;
    expect(esios.slots.map((s) => s.value)).toEqual(ree.slots.map((s) => s.value));
  });

  it('reads a normal day of five regions and single-geo indicators', () => {
    const series = parseEsiosIndicator(JSON.parse(fixture('esios/aiopvpc_PRICES_ESIOS_1001_2024_03_09.json')), 1001);
    expect(series.every((s) => s.slots.length === 24)).toBe(true);
    const other = parseEsiosIndicator(JSON.parse(fixture('esios/aiopvpc_PRICES_ESIOS_10211_2024_03_09.json')), 10211);
    expect(other).toHaveLength(1);
    expect(other[0]!.id).toBe('esios_10211');
  });

  it('returns nothing for a day not published yet and refuses the wrong indicator', () => {
    expect(parseEsiosIndicator({ indicator: { id: 1001, geos: [], values: [] } }, 1001)).toEqual([]);
    expect(() => parseEsiosIndicator(JSON.parse(fixture('esios/aiopvpc_PRICES_ESIOS_10211_2024_03_09.json')), 1001)).toThrow(/asked for indicator 1001/);
  });
});

describe('OMIE marginalpdbc parser', () => {
  it('reads the 23-hour spring day, Spain in the sixth field', () => {
    const [es, pt] = parseOmieMarginal(fixture('omie/marginalpdbc_20250330.1'), '2025-03-30');
    expect(es!.id).toBe('omie_es');
    expect(es!.slots).toHaveLength(23);
    expect(es!.slots[1]!.start - es!.slots[0]!.start).toBe(H);
    expect(pt!.id).toBe('omie_pt');
    const line = fixture('omie/marginalpdbc_20250330.1').split('\n')[1]!.split(';');
    expect(es!.slots[0]!.value).toBe(Number(line[5]));
    expect(pt!.slots[0]!.value).toBe(Number(line[4]));
  });

  it('reads 96 quarter-hours on 2025-10-01 and 100 on the fall-back day', () => {
    expect(parseOmieMarginal(fixture('omie/marginalpdbc_20251001.1'), '2025-10-01')[0]!.slots).toHaveLength(96);
    const fall = parseOmieMarginal(fixture('omie/marginalpdbc_20251026.1'), '2025-10-26')[0]!.slots;
    expect(fall).toHaveLength(100);
    expect(fall.at(-1)!.end).toBe(localDayRange('2025-10-26').end);
  });

  it('keeps negative prices', () => {
    const text = fixture('omie/marginalpdbc_20251001.1').replace(/^(2025;10;01;50;)[^;]+;[^;]+;/m, '$1-1.5;-2.25;');
    expect(parseOmieMarginal(text, '2025-10-01')[0]!.slots[49]!.value).toBe(-2.25);
  });

  it('refuses truncated files, wrong dates and period counts that do not fit the day', () => {
    const text = fixture('omie/marginalpdbc_20251001.1');
    expect(() => parseOmieMarginal(text.replace(/\*\s*$/, ''), '2025-10-01')).toThrow(/truncated/);
    expect(() => parseOmieMarginal(text, '2025-10-02')).toThrow(/in a file for 2025-10-02/);
    const cut = text.split('\n').filter((l) => !l.startsWith('2025;10;01;96;')).join('\n');
    expect(() => parseOmieMarginal(cut, '2025-10-01')).toThrow(/95 periods do not fit/);
    expect(() => parseOmieMarginal('<html>error</html>', '2025-10-01')).toThrow(/MARGINALPDBC header/);
  });
});
