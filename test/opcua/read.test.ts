import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNumbers } from '../../gateway/opcua/read.js';
import { loadOpcua, openSession, type OpcuaSession } from '../../gateway/opcua/session.js';
import { silent } from '../helpers/context.js';
import { freePort } from '../helpers/mosquitto.js';
import { TestOpcuaServer } from '../helpers/opcua-server.js';

const URI = 'urn:choco-edge:test:meter';

/** One-shot reads (the meters' hook) against a real node-opcua server, security None configured for the test. */
describe('readNumbers against a real node-opcua server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'choco-opcua-read-'));
  let server: TestOpcuaServer;
  let s: OpcuaSession;

  beforeAll(async () => {
    server = new TestOpcuaServer({ port: await freePort(), pkiDir: join(dir, 'plc'), namespaceUri: URI, before: ['urn:other'], variables: [{ id: 'Energy.ImportKwh', dataType: 'Double', value: 123456.5 }, { id: 7, dataType: 'UInt32', value: 42 }, { id: 'Energy.Model', dataType: 'String', value: 'UMG 96' }, { id: 'Energy.Kw', dataType: 'Double', value: 1 }] });
    await server.start();
    server.setStatus('Energy.Kw', 'BadCommunicationError');
    const m = await loadOpcua(silent);
    s = await openSession(m, { endpointUrl: server.endpointUrl, security: 'None', securityPolicy: 'Basic256Sha256', auth: { type: 'anonymous' }, requestTimeoutMs: 2000, sessionTimeoutMs: 60_000, secureChannelLifetimeMs: 3_600_000, maxBackoffMs: 400 }, { pkiDir: join(dir, 'pki'), label: 'meter', log: silent });
  }, 60_000);
  afterAll(async () => {
    await s?.close();
    await server?.stop();
  });

  it('reads numbers by namespace URI and names each node that cannot give one', async () => {
    const m = await loadOpcua(silent);
    const got = await readNumbers(m, s, [`nsu=${URI};s=Energy.ImportKwh`, `nsu=${URI};i=7`, `nsu=${URI};s=Energy.Model`, `nsu=${URI};s=Energy.Kw`, `nsu=${URI};s=Nope`, 'nsu=urn:absent;i=1']);
    expect(got.slice(0, 2)).toEqual([{ value: 123456.5 }, { value: 42 }]);
    expect(got.slice(2).map((r) => ('fault' in r ? r.fault.code : 'value'))).toEqual(['wrong_type', 'bad_status', 'node_missing', 'namespace_missing']);
    expect(s.namespaces.indexOf(URI)).toBe(server.namespaceIndex);
  });
});
