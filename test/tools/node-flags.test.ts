// Issue 24: every way the gateway is started passes the same V8 flags (gateway/util/node-flags.ts).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NODE_FLAGS } from '../../gateway/util/node-flags.js';

const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8');

describe('node flags of the gateway process', () => {
  it('the systemd unit, the container image and npm start/demo carry NODE_FLAGS', () => {
    const flags = NODE_FLAGS.join(' ');
    expect(flags).toMatch(/--max-semi-space-size=\d+/);
    expect(read('deploy/choco-edge.service')).toContain(`ExecStart=/usr/bin/env node ${flags} /opt/choco-edge/dist/gateway/main.js start`);
    expect(read('deploy/Dockerfile')).toContain(`CMD ["node", ${NODE_FLAGS.map((f) => JSON.stringify(f)).join(', ')}, "dist/gateway/main.js", "start"]`);
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.start).toBe(`node ${flags} dist/gateway/main.js start`);
    expect(scripts.demo).toBe(`node ${flags} dist/gateway/main.js demo`);
  });
});
