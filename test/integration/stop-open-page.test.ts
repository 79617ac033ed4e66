import { spawn } from 'node:child_process';
import { get, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { describe, expect, it, vi } from 'vitest';
import { readMarker } from '../../gateway/series/integrity.js';
import { MAIN, gatewayEnv } from '../helpers/process.js';

/**
 * Issue #28.5: a stop with the status page open hung 20 s, exited 1 and left the store marked unclean (without the
 * page: 0.1 s). A real gateway process, its event stream open, MQTT clients on TCP and WebSocket, then SIGTERM.
 */
describe('a stop while the status page and MQTT clients are connected', () => {
  it('ends the event stream, closes every client, exits 0 and leaves the store clean', async () => {
    const env = gatewayEnv({ CHOCO_EDGE_LOG_LEVEL: 'info', CHOCO_EDGE_MQTT_EMBEDDED_ALLOW_ANONYMOUS: 'true' });
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const started = await vi.waitFor(
        () => {
          if (child.exitCode !== null) throw new Error(`gateway exited ${child.exitCode}:\n${out}`);
          const line = out.split('\n').find((l) => l.includes('"choco-edge started"'));
          if (!line) throw new Error('not started yet');
          return JSON.parse(line) as { http: string; mqtt: { port: number; wsPort: number } };
        },
        { timeout: 90_000, interval: 100 },
      );
      // The page's event stream, and two MQTT subscribers (TCP and WebSocket), all open.
      const stream = await new Promise<IncomingMessage>((resolve, reject) => get(`${started.http}/api/events`, resolve).on('error', reject));
      expect(stream.headers['content-type']).toMatch(/text\/event-stream/);
      const streamEnded = new Promise<void>((resolve) => stream.on('close', () => resolve()).resume());
      const tcp = await mqtt.connectAsync(`mqtt://127.0.0.1:${started.mqtt.port}`, { reconnectPeriod: 0 });
      const ws = await mqtt.connectAsync(`ws://127.0.0.1:${started.mqtt.wsPort}`, { reconnectPeriod: 0 });
      await tcp.subscribeAsync('choco-edge/#');
      await ws.subscribeAsync('choco-edge/#');
      const closed = (c: mqtt.MqttClient) => new Promise<void>((resolve) => c.on('close', () => resolve()));
      const clientsClosed = Promise.all([closed(tcp), closed(ws)]);

      child.kill('SIGTERM');
      // On main this exited 1 after its 20 s shutdown limit ("shutdown took longer than 20 s").
      expect(await exit, out.slice(-3000)).toBe(0);
      await streamEnded;
      await clientsClosed;
      expect(out).toContain('choco-edge stopped');
      expect(out).not.toContain('shutdown took longer');
      expect(readMarker(join(env.CHOCO_EDGE_DATA_DIR!, 'store'))).toMatchObject({ cleanShutdown: true });
      tcp.end(true);
      ws.end(true);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 150_000);
});
