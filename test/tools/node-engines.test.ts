// Every package the lockfile installs accepts the oldest Node the project says it runs on (package.json `engines`,
// README "Node 20.19 or newer"). On main cookie@2.0.2 (fastify → light-my-request@6.8.1) wanted Node ≥ 22: the
// README's promise was not true, and `npm install` on Node 20 warned EBADENGINE. Pinned through `overrides`
// (light-my-request 6.6.0, which fastify 5 accepts, uses cookie 1.x: Node ≥ 18).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import semver from 'semver';

const read = (p: string) => JSON.parse(readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8')) as Record<string, unknown>;

describe('the Node version the project promises', () => {
  it('is accepted by the engines of every package in package-lock.json, optional and dev ones included', () => {
    const range = (read('package.json').engines as { node: string }).node;
    const oldest = semver.minVersion(range)!.version;
    expect(oldest).toBe('20.19.0');
    expect(readFileSync(new URL('../../README.md', import.meta.url), 'utf8')).toContain('Node 20.19 or newer');
    const packages = read('package-lock.json').packages as Record<string, { version?: string; engines?: { node?: string } | string[] }>;
    const refusing = Object.entries(packages)
      .filter(([name, p]) => name && p.engines && !Array.isArray(p.engines) && p.engines.node && !semver.satisfies(oldest, p.engines.node))
      .map(([name, p]) => `${name}@${p.version} wants node ${(p.engines as { node: string }).node}`);
    expect(refusing).toEqual([]);
    expect(Object.keys(packages).length).toBeGreaterThan(100);
  });
});
