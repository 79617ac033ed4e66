import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createModbusLines } from '../../plugins/modbus-lines/index.js';
import { createOpcuaLines } from '../../plugins/opcua-lines/index.js';
import { TestOpcuaServer } from '../helpers/opcua-server.js';
import { linesChangedByGuard } from '../../gateway/lines/line-state.js';
import { pluginContext, testConfig, type TestContext } from '../helpers/context.js';
import { freePort } from '../helpers/mosquitto.js';
import { FakePlc } from '../helpers/plc.js';
import { lineRun, planDocument } from '../helpers/plan-document.js';

// The line writers rewrote on `power.guard` only the lines in the NEW set of deferrals: a lifted deferral (a line
// in the old set only) kept its idle command on the PLC until the next watchdog rewrite. Here the watchdog period is
// an hour of device time and the gateway's clock is fake (it never moves): only the guard's event can rewrite.
const H = 3_600_000;
const NOW = Date.parse('2025-06-02T10:00:00Z');
const kw = (p: string) => ({ conching: 48, tempering: 36 })[p] ?? 0;
const doc = planDocument(NOW, [{ ...lineRun('conching', NOW, NOW + 4 * H, 48), batch: 11 }, { ...lineRun('tempering', NOW, NOW + 2 * H, 36), batch: 12 }]);
const defer = (line: string) => ({ line, runStart: NOW, shiftMs: 15 * 60_000, reason: 'P1 quarter-hour over the contracted power' });
const guard = (shifts: ReturnType<typeof defer>[]) => ({ shifts, loadsOff: [], projectedKw: 460, limitKw: 440, period: 1, at: NOW });

describe('linesChangedByGuard: the lines whose command a new set of deferrals changes', () => {
  it('names a newly deferred line, a lifted one and a moved one, not an untouched one', () => {
    const lines = ['conching', 'tempering'];
    expect(linesChangedByGuard(doc, [], [defer('conching')], lines, NOW, kw)).toEqual(['conching']);
    expect(linesChangedByGuard(doc, [defer('conching')], [], lines, NOW, kw)).toEqual(['conching']);
    expect(linesChangedByGuard(doc, [defer('conching')], [defer('tempering')], lines, NOW, kw)).toEqual(['conching', 'tempering']);
    expect(linesChangedByGuard(doc, [defer('conching')], [{ ...defer('conching'), shiftMs: 30 * 60_000 }], lines, NOW, kw)).toEqual(['conching']);
    expect(linesChangedByGuard(doc, [defer('conching')], [defer('conching')], lines, NOW, kw)).toEqual([]);
    // A shift of a run that does not exist changes nothing the PLC is told.
    expect(linesChangedByGuard(doc, [], [{ ...defer('conching'), runStart: NOW + 9 * H }], lines, NOW, kw)).toEqual([]);
  });
});

let ctx: TestContext | undefined;
afterEach(async () => {
  await ctx?.close();
  ctx = undefined;
});

describe('a lifted guard deferral reaches the PLC at once (real Modbus TCP server, watchdog period 1 h)', () => {
  it('defers conching, moves the deferral to tempering, lifts it: each PLC register follows the event, not the watchdog', async () => {
    const plc = new FakePlc(await freePort());
    await plc.start();
    const regs = (base: number) => ({ command: base, powerSetpoint: base + 1, validUntil: base + 2, heartbeat: base + 4, batch: base + 5 });
    const config = testConfig('http://127.0.0.1:9', {
      planner: { processes: [
        { name: 'conching', kw: 48, minutes: 240, batchesPerDay: 1, uninterrupted: true, minGapMinutes: 0, line: 'conching' },
        { name: 'tempering', kw: 36, minutes: 120, batchesPerDay: 1, uninterrupted: true, minGapMinutes: 0, line: 'tempering' },
      ], order: ['conching', 'tempering'] },
      lines: [
        { line: 'conching', host: '127.0.0.1', port: plc.port, watchdogMs: H, timeoutMs: 10_000, maxBackoffMs: 400, registers: regs(100) },
        { line: 'tempering', host: '127.0.0.1', port: plc.port, watchdogMs: H, timeoutMs: 10_000, maxBackoffMs: 400, registers: regs(200) },
      ],
    });
    ctx = await pluginContext(config, new Date(NOW).toISOString());
    const lines = createModbusLines(ctx);
    await lines.start();
    const command = (base: number) => plc.holding.get(base);
    const validUntil = (base: number) => plc.holding.get(base + 2)! * 65536 + plc.holding.get(base + 3)!;
    const writesTo = (base: number) => plc.writes.filter((w) => w.address === base).length;
    // Verified writes (written and read back) per line: each step waits for them, so no cycle is cut by the next event.
    const written = (conching: number, tempering: number) => vi.waitFor(() => expect([lines.writers().conching!.writes, lines.writers().tempering!.writes]).toEqual([conching, tempering]), { timeout: 60_000 });
    try {
      ctx.bus.emit('plan.updated', { version: 1, planId: 'p#1', doc });
      await vi.waitFor(() => expect([command(100), command(200)]).toEqual([1, 1]), { timeout: 60_000 });
      await written(1, 1);
      // The guard holds conching's start by 15 min: idle until then.
      ctx.bus.emit('power.guard', guard([defer('conching')]));
      await vi.waitFor(() => expect(command(100)).toBe(0), { timeout: 60_000 });
      expect(validUntil(100)).toBe((NOW + 15 * 60_000) / 1000);
      await written(2, 1);
      // The next quarter-hour the guard holds tempering instead: conching's deferral is lifted, it runs again at once.
      ctx.bus.emit('power.guard', guard([defer('tempering')]));
      await vi.waitFor(() => expect([command(100), command(200)]).toEqual([1, 0]), { timeout: 60_000 });
      expect(validUntil(100)).toBe((NOW + 4 * H) / 1000);
      expect(plc.holding.get(101)).toBe(480);
      await written(3, 2);
      // Then no deferral at all: tempering runs again at once; conching, whose command did not change, is not rewritten.
      const conchingWrites = writesTo(100);
      ctx.bus.emit('power.guard', guard([]));
      await vi.waitFor(() => expect(command(200)).toBe(1), { timeout: 60_000 });
      expect(validUntil(200)).toBe((NOW + 2 * H) / 1000);
      expect(writesTo(100)).toBe(conchingWrites);
      // Nothing here waited for a watchdog period: the gateway's clock never moved, and each line wrote once per change.
      expect(ctx.clock.now()).toBe(NOW);
      await written(3, 3);
    } finally {
      await lines.stop();
      await plc.stop();
    }
  }, 60_000);
});

describe('the same on the OPC UA line writer (real node-opcua server, watchdog period 1 h)', () => {
  it('a lifted deferral is written to the Command variable at once', async () => {
    const URI = 'urn:choco-edge:test:guard-lift';
    const dir = mkdtempSync(join(tmpdir(), 'choco-opcua-lift-'));
    const w = { writable: true };
    const server = new TestOpcuaServer({
      port: await freePort(),
      pkiDir: join(dir, 'plc'),
      namespaceUri: URI,
      variables: [
        { id: 'Conching.Command', dataType: 'UInt16', value: 0, ...w },
        { id: 'Conching.PowerSetpoint', dataType: 'Double', value: 0, ...w },
        { id: 'Conching.ValidUntil', dataType: 'DateTime', value: new Date(0), ...w },
        { id: 'Conching.Heartbeat', dataType: 'UInt16', value: 0, ...w },
      ],
    });
    await server.start();
    const node = (role: string) => `nsu=${URI};s=Conching.${role}`;
    const config = testConfig('http://127.0.0.1:9', {
      opcua: {
        pkiDir: join(dir, 'client-pki'),
        lines: [{ line: 'conching', endpointUrl: server.endpointUrl, security: 'None', watchdogMs: H, maxBackoffMs: 400, requestTimeoutMs: 2000, nodes: { command: node('Command'), powerSetpoint: node('PowerSetpoint'), validUntil: node('ValidUntil'), heartbeat: node('Heartbeat') } }],
      },
    });
    ctx = await pluginContext(config, new Date(NOW).toISOString());
    const lines = createOpcuaLines(ctx);
    await lines.start();
    const writes = () => lines.writers().conching!.writes;
    try {
      ctx.bus.emit('plan.updated', { version: 1, planId: 'p#1', doc });
      await vi.waitFor(() => expect([server.get('Conching.Command'), writes()]).toEqual([1, 1]), { timeout: 60_000 });
      ctx.bus.emit('power.guard', guard([defer('conching')]));
      await vi.waitFor(() => expect([server.get('Conching.Command'), writes()]).toEqual([0, 2]), { timeout: 60_000 });
      // Lifted: main left Command at 0 until the watchdog (an hour here).
      ctx.bus.emit('power.guard', guard([]));
      await vi.waitFor(() => expect([server.get('Conching.Command'), writes()]).toEqual([1, 3]), { timeout: 60_000 });
      expect((server.get('Conching.ValidUntil') as Date).getTime()).toBe(NOW + 4 * H);
    } finally {
      await lines.stop();
      await server.stop();
    }
  }, 90_000);
});
