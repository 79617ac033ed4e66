import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactConfig } from '../../gateway/config/load.js';
import { parseUriNodeId, resolveNodeId } from '../../gateway/opcua/node-id.js';

const device = (nodeId: string, extra: Record<string, unknown> = {}) => ({ opcua: { devices: [{ name: 'plc', endpointUrl: 'opc.tcp://10.0.0.5:4840', points: [{ name: 't', nodeId }], ...extra }] } });

describe('OPC UA configuration', () => {
  it('refuses a node id with a namespace index (a PLC download can renumber it), accepts one by URI', () => {
    expect(() => loadConfig({ env: {}, overrides: device('ns=3;s="DB_Floor"."Temp"') })).toThrow(ConfigError);
    const ok = loadConfig({ env: {}, overrides: device('nsu=http://www.siemens.com/simatic-s7-opcua;s="DB_Floor"."Temp"') });
    expect(ok.opcua.devices[0]).toMatchObject({ security: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256', auth: { type: 'anonymous' } });
    expect(() => parseUriNodeId('ns=3;i=5')).toThrow(/name the namespace by its URI/);
    expect(resolveNodeId(parseUriNodeId('nsu=http://www.siemens.com/simatic-s7-opcua;s="DB_Floor"."Temp"'), ['http://opcfoundation.org/UA/', 'urn:x', 'urn:y', 'http://www.siemens.com/simatic-s7-opcua'])).toBe('ns=3;s="DB_Floor"."Temp"');
    expect(resolveNodeId(parseUriNodeId('ns=0;i=2258'), [])).toBe('ns=0;i=2258');
  });

  it('reads the login password from a file and never prints it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'choco-opcua-cfg-'));
    writeFileSync(join(dir, 'pw'), 'Pa55-from-file\n');
    const config = loadConfig({ env: {}, overrides: device('nsu=urn:x;i=1', { auth: { type: 'user', username: 'gw', password: { file: join(dir, 'pw') } } }) });
    expect(config.opcua.devices[0]!.auth.password).toBe('Pa55-from-file');
    expect(JSON.stringify(redactConfig(config))).not.toContain('Pa55-from-file');
    expect(() => loadConfig({ env: {}, overrides: device('nsu=urn:x;i=1', { auth: { type: 'user', username: 'gw', password: { file: join(dir, 'missing') } } }) })).toThrow(ConfigError);
  });

  it('refuses a point, device or line named twice across Modbus and OPC UA (one series, one readings record, one writer each)', () => {
    const modbus = { modbus: { devices: [{ name: 'floor', host: '10.0.0.9', points: [{ name: 'room_temp', address: 0 }] }, { name: 'tank', host: '10.0.0.8', points: [{ name: 'room_temp', address: 1 }] }] } };
    expect(() => loadConfig({ env: {}, overrides: modbus })).toThrow(ConfigError);
    try {
      loadConfig({ env: {}, overrides: { ...modbus, ...device('nsu=urn:x;i=1', { name: 'floor', points: [{ name: 't', nodeId: 'nsu=urn:x;i=1' }] }), lines: [{ line: 'conching', registers: { command: 0, powerSetpoint: 1, validUntil: 2, heartbeat: 4 } }] } });
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        '/opcua/devices/0/name: device name "floor" is already used at /modbus/devices/0/name',
        '/modbus/devices/1/points/0/name: point name (series sensor.<name>, topic sensors/<name>) "room_temp" is already used at /modbus/devices/0/points/0/name',
      ]);
    }
    const n = (id: string) => `nsu=urn:x;s=${id}`;
    const twice = { lines: [{ line: 'conching', registers: { command: 0, powerSetpoint: 1, validUntil: 2, heartbeat: 4 } }], opcua: { lines: [{ line: 'conching', endpointUrl: 'opc.tcp://10.0.0.5:4840', nodes: { command: n('c'), powerSetpoint: n('p'), validUntil: n('v'), heartbeat: n('h') } }] } };
    expect(() => loadConfig({ env: {}, overrides: twice })).toThrow(ConfigError);
  });
});
