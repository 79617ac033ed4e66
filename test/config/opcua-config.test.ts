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
});
