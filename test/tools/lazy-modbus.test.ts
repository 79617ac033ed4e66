import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * modbus-serial (serialport and its native bindings, ~6 MB of RSS) loads only when a Modbus device, line, meter or
 * simulated meter starts: the CLI's entry (gateway/main.ts) imports the demo's simulated meter, which once imported
 * it at module load, so every gateway carried it at idle (issue #24's idle RSS). A fresh node process imports the
 * modules and lists what is in the CommonJS cache.
 */
describe('modbus-serial is loaded on first use, not with the gateway', () => {
  it('importing the controller, the demo and the simulated meter loads no serialport', () => {
    const script = `
      const { createRequire } = await import('node:module');
      await import('./gateway/controller.ts');
      await import('./plugins/replay/demo.ts');
      await import('./plugins/replay/simulated-meter.ts');
      const cache = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify(cache.filter((k) => /node_modules\\/(modbus-serial|serialport|@serialport)\\//.test(k))));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toEqual([]);
  });
});
