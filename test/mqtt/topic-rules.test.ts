import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../gateway/config/load.js';
import { TopicError, topicFilterProblem, topicLevelProblem, topicNameProblem, topics } from '../../gateway/mqtt/topics.js';

describe('MQTT topic rules for names built from input', () => {
  it('refuses wildcards, separators, NUL, control characters, empty levels, lone surrogates and over-long levels', () => {
    const bad = { '#': /wildcard/, '+': /wildcard/, 'a/b': /one level/, '': /empty/, 'x\u0000y': /NUL/, 'bell\u0007': /control/, 'half\ud800': /UTF-8/, ['é'.repeat(40_000)]: /65535/ };
    for (const [level, why] of Object.entries(bad)) expect(topicLevelProblem(level), JSON.stringify(level.slice(0, 10))).toMatch(why);
    for (const ok of ['conching', 'línea-1', 'fleet-0001', '温度', 'a'.repeat(1000), '🍫']) expect(topicLevelProblem(ok)).toBeNull();
  });

  it('checks whole topic names and filters the same way', () => {
    expect(topicNameProblem('plants/linares/response/#')).toMatch(/wildcard/);
    expect(topicNameProblem('a//b')).toBeNull();
    expect(topicFilterProblem('choco-edge/lines/+/set')).toBeNull();
    expect(topicFilterProblem('choco-edge/#')).toBeNull();
    expect(topicFilterProblem('choco-edge/#/x')).toMatch(/last/);
    expect(topicFilterProblem('choco-edge/a+')).toMatch(/whole level/);
  });

  it('the topic builders throw a TopicError naming the input', () => {
    expect(() => topics.lineCommand('conching/#')).toThrow(TopicError);
    expect(() => topics.sensor('')).toThrow(/point "" cannot be used in an MQTT topic: empty level/);
    expect(topics.response('job/trigger')).toBe('bridge/response/job/trigger');
    expect(() => topics.response('job//trigger')).toThrow(/empty level/);
  });

  it('configuration refuses names that would break a topic', () => {
    const load = (overrides: Record<string, unknown>) => () => loadConfig({ env: {}, overrides });
    expect(load({ uplink: { prefix: 'plants/#' } })).toThrow(/\/uplink\/prefix: "plants\/#" cannot be used in an MQTT topic: contains a wildcard/);
    expect(load({ uplink: { prefix: 'plants//linares' } })).toThrow(/empty level/);
    expect(load({ uplink: { topics: ['prices/#/x'] } })).toThrow(/\/uplink\/topics\/0/);
    expect(load({ homeAssistant: { discoveryPrefix: 'home+assistant' } })).toThrow(/discoveryPrefix/);
    expect(load({ mqtt: { embedded: { users: [{ username: 'plc', passwordHash: 'scrypt:a:b', role: 'line', lines: ['#'] }] } } })).toThrow(/users\/0\/lines\/0/);
    expect(load({ mqtt: { embedded: { users: [{ username: 'plc', passwordHash: 'scrypt:a:b', role: 'line', clientIdPattern: 'plc-(' }] } } })).toThrow(ConfigError);
    expect(load({ uplink: { prefix: 'plants/linares-2' } })()).toMatchObject({ uplink: { prefix: 'plants/linares-2' } });
  });
});
