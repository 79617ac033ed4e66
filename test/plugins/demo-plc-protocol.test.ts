import { describe, expect, it } from 'vitest';
import { demoPlcProtocol } from '../../plugins/replay/simulated-opcua.js';

/**
 * Issue #24 (install size): node-opcua, the full OPC UA server behind the demo's simulated PLC, is a development
 * dependency, so a production install (`npm ci --omit=dev`) lacks it. The demo then runs the simulated Modbus PLC and
 * says why, instead of failing on an import. The resolver is the only part replaced here: uninstalling a package
 * under the other tests is not an option.
 */
describe('the demo PLC protocol', () => {
  it('OPC UA when node-opcua is installed (as in this development checkout)', () => {
    expect(demoPlcProtocol('opcua')).toEqual({ plc: 'opcua' });
  });

  it('Modbus, with one sentence naming the package and the remedy, when node-opcua is absent', () => {
    const asked: string[] = [];
    const missing = (name: string): string => {
      asked.push(name);
      throw Object.assign(new Error(`Cannot find module '${name}'`), { code: 'MODULE_NOT_FOUND' });
    };
    const r = demoPlcProtocol('opcua', missing);
    expect(asked).toEqual(['node-opcua']);
    expect(r.plc).toBe('modbus');
    expect(r.note).toMatch(/^demo\.plc is opcua but node-opcua .* is not installed here: the demo runs the simulated Modbus PLC instead \(install it with `npm install node-opcua@2\.182\.2`/);
    expect(r.note!.split('. ').length).toBe(1);
  });

  it('Modbus asked: never looks for node-opcua', () => {
    expect(demoPlcProtocol('modbus', () => { throw new Error('not asked'); })).toEqual({ plc: 'modbus' });
  });

  it('the version the remedy names is the one package.json pins', async () => {
    const pkg = (await import('../../package.json', { with: { type: 'json' } })).default as { devDependencies: Record<string, string>; optionalDependencies: Record<string, string>; dependencies: Record<string, string> };
    expect(pkg.devDependencies['node-opcua']).toBe('2.182.2');
    expect(pkg.dependencies['node-opcua']).toBeUndefined();
    expect(pkg.optionalDependencies['node-opcua']).toBeUndefined();
  });
});
