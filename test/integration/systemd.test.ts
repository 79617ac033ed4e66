import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SdNotify } from '../../gateway/sd-notify.js';
import { MAIN, gatewayEnv } from '../helpers/process.js';

const HAS_NOTIFY = existsSync('/usr/bin/systemd-notify') || existsSync('/bin/systemd-notify');

/** A real Unix datagram socket (python3, as Node has none) standing in for systemd's NOTIFY_SOCKET. */
async function notifySocket(): Promise<{ path: string; messages: string[]; child: ChildProcess }> {
  const path = join(mkdtempSync(join(tmpdir(), 'choco-notify-')), 'notify.sock');
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

describe.skipIf(!HAS_NOTIFY)('systemd notify protocol', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  it('is a no-op without NOTIFY_SOCKET', async () => {
    const sd = new SdNotify({});
    expect(sd.enabled).toBe(false);
    expect(await sd.notify('READY=1')).toBe(false);
  });

  it('sends READY=1, WATCHDOG=1 at half of WatchdogSec, and STOPPING=1 from the real process', async () => {
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
    expect(socket.messages.some((m) => m.includes('STOPPING=1'))).toBe(true);
  }, 60_000);
});
