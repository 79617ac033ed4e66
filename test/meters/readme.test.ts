import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../gateway/config/load.js';
import { SHIPPED_PROFILES, resolveProfile, planReads } from '../../gateway/meters/profile.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const start = README.indexOf('### Connecting a meter');
const section = README.slice(start, start + README.slice(start + 10).search(/\n#{2,3} /) + 10);
const yamls = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('README: connecting a meter', () => {
  it('has the SDM630 example, which the gateway accepts as written', () => {
    expect(start).toBeGreaterThan(0);
    const config = loadConfig({ env: {}, overrides: parseYaml(yamls[0]!) as Record<string, unknown> });
    expect(config.energy.meters[0]).toMatchObject({ name: 'site-main', role: 'site', profile: 'eastron-sdm630', host: '192.168.10.40', unitId: 1, maxKw: 600 });
  });

  it('has a user profile example that loads and reads where its document says', () => {
    const config = loadConfig({ env: {}, overrides: parseYaml(yamls[1]!) as Record<string, unknown> });
    const profile = resolveProfile(config.energy.meters[0]!.profile, config.energy.meterProfiles);
    expect(planReads(profile)).toEqual([{ fc: 3, address: 100, count: 4, quantities: [{ quantity: 'kw', offset: 0 }, { quantity: 'importKwh', offset: 2 }] }]);
  });

  it('lists every shipped profile, and each cites its sources', () => {
    for (const [name, p] of Object.entries(SHIPPED_PROFILES)) {
      expect(section).toContain('`' + name + '`');
      expect(p.sources.length).toBeGreaterThanOrEqual(2);
    }
  });

  it('refuses a line meter without its line and an unknown profile, one sentence each', () => {
    expect(() => loadConfig({ env: {}, overrides: { energy: { meters: [{ name: 'conching', role: 'line', profile: 'eastron-sdm630', host: 'x' }] } } })).toThrow(/invalid configuration/);
    let problems: string[] = [];
    try {
      loadConfig({ env: {}, overrides: { energy: { meters: [{ name: 'conching', role: 'line', profile: 'sdm-630', host: 'x' }] } } });
    } catch (error) {
      problems = (error as { problems: string[] }).problems;
    }
    expect(problems).toEqual(['/energy/meters/0/line: a line meter needs the line it measures', expect.stringMatching(/^\/energy\/meters\/0\/profile: no meter profile "sdm-630" \(shipped: eastron-sdm630, /)]);
  });
});
