import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SdNotify, loadUnixDgram } from '../../gateway/core/sd-notify.js';
import { MAIN, gatewayEnv } from '../helpers/process.js';

const HAS_NOTIFY = existsSync('/usr/bin/systemd-notify') || existsSync('/bin/systemd-notify');
const HAS_DGRAM = Boolean(loadUnixDgram());
if (!HAS_DGRAM) console.warn('unix-dgram did not load (optional dependency not built): the main-PID notify tests are skipped');

/**
 * A real Unix datagram socket (python3, as Node has none) standing in for systemd's NOTIFY_SOCKET, with SO_PASSCRED:
 * each line is "pid=<sender PID the kernel vouches for> <message>". `abstract` binds an `@name` socket.
 */
async function notifySocket(abstract = false): Promise<{ path: string; messages: string[]; child: ChildProcess }> {
  const path = abstract ? `@choco-notify-${process.pid}-${Math.random().toString(16).slice(2)}` : join(mkdtempSync(join(tmpdir(), 'choco-notify-')), 'notify.sock');
  const child = spawn('python3', [fileURLToPath(new URL('../helpers/notify-socket.py', import.meta.url)), path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: string[] = [];
  let buffer = '';
  child.stdout!.on('data', (c: Buffer) => {
    buffer += c.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    messages.push(...lines);
  });
  await vi.waitFor(() => expect(messages).toContain('ready'), { timeout: 60_000 });
  return { path, messages, child };
}

const sender = (line: string) => Number(/^pid=(\d+) /.exec(line)?.[1]);

describe('systemd notify protocol', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  it('is a no-op without NOTIFY_SOCKET', async () => {
    const sd = new SdNotify({});
    expect(sd.enabled).toBe(false);
    expect(await sd.notify('READY=1')).toBe(false);
  });

  it.skipIf(!HAS_DGRAM)('sends from this process itself over a datagram socket: the kernel credentials carry our PID', async () => {
    const socket = await notifySocket();
    children.push(socket.child);
    const sd = new SdNotify({ NOTIFY_SOCKET: socket.path });
    expect(sd.transport).toBe('unix-dgram');
    expect(await sd.notify('READY=1', 'STATUS=up')).toBe(true);
    await vi.waitFor(() => expect(socket.messages).toContain(`pid=${process.pid} READY=1|STATUS=up`), { timeout: 60_000 });
  });

  it.skipIf(!HAS_NOTIFY)('falls back to systemd-notify when unix-dgram cannot load', async () => {
    const socket = await notifySocket();
    children.push(socket.child);
    const sd = new SdNotify({ NOTIFY_SOCKET: socket.path }, null);
    expect(sd.transport).toBe('systemd-notify');
    expect(await sd.notify('READY=1')).toBe(true);
    await vi.waitFor(() => expect(socket.messages.some((m) => m.endsWith('READY=1'))).toBe(true), { timeout: 60_000 });
  });

  it.skipIf(!HAS_NOTIFY)('reaches an abstract @name socket (through systemd-notify: unix-dgram cannot address one)', async () => {
    const socket = await notifySocket(true);
    children.push(socket.child);
    const sd = new SdNotify({ NOTIFY_SOCKET: socket.path });
    expect(sd.transport).toBe('systemd-notify');
    expect(await sd.notify('READY=1')).toBe(true);
    await vi.waitFor(() => expect(socket.messages.some((m) => m.endsWith('READY=1'))).toBe(true), { timeout: 60_000 });
  });

  it.skipIf(!HAS_DGRAM)('the gateway sends READY=1, WATCHDOG=1 at half of WatchdogSec, and STOPPING=1 from its own PID', async () => {
    const socket = await notifySocket();
    children.push(socket.child);
    const gateway = spawn(process.execPath, ['--import', 'tsx', MAIN, 'start'], {
      env: gatewayEnv({ NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '400000', CHOCO_EDGE_LOG_LEVEL: 'warn' }),
      stdio: 'ignore',
    });
    children.push(gateway);
    await vi.waitFor(() => expect(socket.messages.some((m) => m.includes('READY=1'))).toBe(true), { timeout: 60_000, interval: 100 });
    expect(socket.messages.find((m) => m.includes('READY=1'))).toMatch(/STATUS=running: http http:\/\/127\.0\.0\.1:\d+/);
    await vi.waitFor(() => expect(socket.messages.filter((m) => m.includes('WATCHDOG=1')).length).toBeGreaterThanOrEqual(3), { timeout: 60_000, interval: 50 });
    const exit = new Promise<number | null>((resolve) => gateway.on('exit', resolve));
    gateway.kill('SIGTERM');
    expect(await exit).toBe(0);
    const sent = socket.messages.filter((m) => m.startsWith('pid='));
    expect(sent.some((m) => m.includes('STOPPING=1'))).toBe(true);
    expect(new Set(sent.map(sender))).toEqual(new Set([gateway.pid]));
  }, 60_000);
});
