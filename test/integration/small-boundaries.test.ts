import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig, redactConfig } from '../../gateway/config/load.js';
import type { Gateway } from '../../gateway/controller.js';
import type { PlannerPlugin } from '../../plugins/planner/index.js';
import { testConfig } from '../helpers/context.js';
import { startGateway } from '../helpers/gateway.js';

const WEBHOOK_SECRET_PATH = '/services/T000/B000/s3cr3t-webhook-key';

describe('small boundaries (issue #14.9)', () => {
  let gw: Gateway;
  let hook: Server;
  let hookUrl: string;

  beforeAll(async () => {
    hook = createServer((_req, res) => res.writeHead(500).end());
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}${WEBHOOK_SECRET_PATH}?token=abc`;
    ({ gw } = await startGateway(testConfig('http://127.0.0.1:9', { sources: { esios: { enabled: false } }, notify: { webhookUrl: hookUrl, minLevel: 'info' } }), '2025-10-26T12:30:00Z'));
  });
  afterAll(async () => {
    await gw?.stop();
    await new Promise((resolve) => hook?.close(resolve));
  });

  it('refuses an acknowledgement without a plan id ({"command":"ack","plan_id":null}, {"command":"ack"}, {}) or naming a plan it never published', async () => {
    const planner = gw.plugins.get('planner')!.plugin as PlannerPlugin;
    const ack = (line: string) => planner.lines().find((l) => l.line === line)!.ack as { plan_id: string } | null;
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.brokerPorts!.port}`, { reconnectPeriod: 0 });
    for (const body of [{ command: 'ack', plan_id: null }, { command: 'ack' }, { command: 'ack', plan_id: '' }, {}, []]) {
      await c.publishAsync('choco-edge/lines/conching/set', JSON.stringify(body), { qos: 1 });
    }
    // A plan id this gateway never published (here no plan exists: no prices) is refused too (issue #26).
    await c.publishAsync('choco-edge/lines/mixing/set', JSON.stringify({ command: 'ack', plan_id: 'plan-7' }), { qos: 1 });
    // Same connection, same order: once this override is stored, the messages before it have been handled.
    await c.publishAsync('choco-edge/lines/mixing/set', JSON.stringify({ command: 'resume' }), { qos: 1 });
    await vi.waitFor(() => expect(planner.lines().find((l) => l.line === 'mixing')!.override?.command).toBe('resume'), { timeout: 60_000 });
    expect(ack('mixing')).toBeNull();
    expect(ack('conching')).toBeNull();
    await c.endAsync();
  });

  it('accepts the bearer scheme in any case (RFC 7235) and nothing else', async () => {
    const trigger = (authorization: string) => fetch(`${gw.http!.url}/scheduler/jobs/health/trigger`, { method: 'POST', headers: { authorization } }).then((r) => r.status);
    expect(await trigger('bearer http-test-token')).toBe(200);
    expect(await trigger('BEARER http-test-token')).toBe(200);
    expect(await trigger('Bearer http-test-token')).toBe(200);
    expect(await trigger('Basic http-test-token')).toBe(401);
    expect(await trigger('bearer wrong-token')).toBe(401);
    expect(await trigger('bearerhttp-test-token')).toBe(401);
  });

  it('treats notify.webhookUrl as a secret: not in check-config output, only its origin in notify health', async () => {
    const printed = JSON.stringify(redactConfig(loadConfig({ env: {}, overrides: { notify: { webhookUrl: hookUrl } } })));
    expect(printed).not.toContain('s3cr3t');
    expect(printed).toContain('"webhookUrl":"***"');
    gw.bus.emit('alert', { code: 'TEST', level: 'critical', message: 'webhook check', at: gw.clock.now() });
    await vi.waitFor(() => expect(gw.pluginHealth().notify!.state).toBe('degraded'), { timeout: 60_000 });
    const health = JSON.stringify(gw.pluginHealth().notify);
    expect(health).toContain(new URL(hookUrl).origin);
    expect(health).not.toContain('s3cr3t');
    expect(health).not.toContain('token=abc');
  });
});
