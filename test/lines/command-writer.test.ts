/**
 * The shared line command core (gateway/lines/command-writer.ts) on its own, with a FAKE transport: the promises the
 * writer makes whatever the protocol (one cycle at a time, a newer plan stops a cycle between two requests, three
 * failed cycles raise the alert, a watchdog rewrite on device time with heartbeat + 1, the write-nothing mode) are
 * the writer's, not the PLC's, so a scripted transport that can be slow, fail or count requests is what tests them.
 * The real PLCs (a Modbus TCP server, a node-opcua server) are in test/plugins/modbus-lines*.test.ts and
 * test/plugins/opcua-lines*.test.ts, which run the same writer through the plugins.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../gateway/time/clock.js';
import { OutputMode } from '../../gateway/core/output-mode.js';
import { FAILED_CYCLES_BEFORE_ALERT, LineCommandWriter, plainFault, type CycleGuard, type DryRunReport, type LineTransport } from '../../gateway/lines/command-writer.js';
import type { LineState } from '../../gateway/lines/line-state.js';

const T0 = Date.parse('2026-12-07T08:00:00Z');

/** A request the fake PLC answers only when the test lets it (a slow PLC). */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = () => {};
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** A fake transport: three requests per write (each after `guard.beforeWrite()`), one per read-back, scripted faults. */
class FakeTransport implements LineTransport {
  requests: Array<{ kind: 'write' | 'read' | 'dry-read'; state: LineState; heartbeat: number }> = [];
  written: Array<{ state: LineState; heartbeat: number }> = [];
  connects = 0;
  closes = 0;
  /** When set, every request waits for this gate. */
  slow: { wait: Promise<void> } | null = null;
  /** Connect fails while this is set. */
  down: Error | null = null;
  /** Called when a request starts (the test reacts between two requests). */
  onRequest: (n: number) => void = () => {};

  async connect(): Promise<void> {
    this.connects++;
    if (this.down) throw this.down;
  }
  private async request(kind: 'write' | 'read' | 'dry-read', state: LineState, heartbeat: number): Promise<void> {
    this.requests.push({ kind, state, heartbeat });
    this.onRequest(this.requests.length);
    if (this.slow) await this.slow.wait;
  }
  async writeState(state: LineState, heartbeat: number, guard: CycleGuard): Promise<void> {
    for (let i = 0; i < 3; i++) {
      guard.beforeWrite();
      await this.request('write', state, heartbeat);
    }
    this.written.push({ state, heartbeat });
  }
  async readBack(state: LineState, heartbeat: number, guard: CycleGuard): Promise<void> {
    guard.beforeWrite();
    await this.request('read', state, heartbeat);
  }
  async dryRun(state: LineState, heartbeat: number, guard: CycleGuard): Promise<DryRunReport> {
    guard.dryRunGoesOn();
    await this.request('dry-read', state, heartbeat);
    return { via: 'modbus', target: 'line conching (fake)', what: state.command, values: { command: state.command }, message: `dry run: would write ${state.command}` };
  }
  fault(error: unknown): { code: string | null; message: string } {
    return plainFault(error);
  }
  async close(): Promise<void> {
    this.closes++;
  }
}

function setup(opts: { dryRun?: boolean } = {}) {
  const clock = new FakeClock(T0); // the gateway's clock (the plan's times)
  const device = new FakeClock(T0); // device (monotonic) time: the watchdog and the backoff
  const outputs = new OutputMode({ dryRun: opts.dryRun ?? false, clock });
  const transport = new FakeTransport();
  let state: LineState = { command: 'run', powerKw: 48, validUntil: T0 + 3_600_000, batch: 1 };
  const failures: string[] = [];
  let changes = 0;
  const writer = new LineCommandWriter({ line: 'conching', watchdogMs: 1_000, maxBackoffMs: 4_000 }, transport, {
    clock,
    deviceClock: device,
    outputs,
    state: () => state,
    onFailure: (m) => failures.push(m),
    onChange: () => changes++,
  });
  return { clock, device, outputs, transport, writer, failures, setState: (s: LineState) => (state = s), changes: () => changes };
}

describe('LineCommandWriter (fake transport)', () => {
  it('writes, reads back, and rewrites every watchdogMs of device time with heartbeat + 1, whatever the gateway clock does', async () => {
    const { clock, device, transport, writer } = setup();
    writer.start();
    await device.advance(0);
    expect(transport.written).toEqual([{ state: expect.objectContaining({ command: 'run' }), heartbeat: 1 }]);
    expect(transport.requests.map((r) => r.kind)).toEqual(['write', 'write', 'write', 'read']);
    expect(writer.tracker.get()).toMatchObject({ state: 'ok', message: 'run 48 kW until 2026-12-07T09:00:00.000Z, heartbeat 1' });
    // A day on the gateway's clock (an accelerated demo clock, a stepped wall clock) is not a watchdog period.
    await clock.advance(86_400_000);
    expect(transport.written).toHaveLength(1);
    await device.advance(999);
    expect(transport.written).toHaveLength(1);
    await device.advance(1);
    await device.advance(1_000);
    await device.advance(1_000);
    expect(transport.written.map((w) => w.heartbeat)).toEqual([1, 2, 3, 4]);
    expect(writer.writes).toBe(4);
    expect(writer.lastWritten).toMatchObject({ heartbeat: 4, at: T0 + 86_400_000 });
    await writer.stop();
    expect(transport.closes).toBe(1);
    await device.advance(10_000);
    expect(transport.written).toHaveLength(4);
  });

  it('runs one cycle at a time: a newer plan during a slow cycle stops it between two requests, then the newer state is written at once', async () => {
    const { device, transport, writer, setState } = setup();
    const slow = gate();
    transport.slow = slow;
    writer.start();
    await device.advance(0);
    expect(transport.requests).toHaveLength(1); // the first write request, waiting on the slow PLC
    setState({ command: 'halt', powerKw: 0, validUntil: T0 + 7_200_000, batch: null });
    writer.writeNow();
    writer.writeNow(); // a burst of plans starts no second cycle
    await device.advance(0);
    expect(transport.requests).toHaveLength(1);
    transport.slow = null;
    slow.open();
    await device.advance(0);
    // The first cycle stopped before its second request; the next wrote the newer state.
    expect(writer.supersededCycles).toBe(1);
    expect(writer.failures).toBe(0);
    expect(writer.maxConcurrentCycles).toBe(1);
    // The stopped cycle's heartbeat (1) may have reached the PLC: the newer state goes with the next one.
    expect(transport.written).toEqual([{ state: expect.objectContaining({ command: 'halt' }), heartbeat: 2 }]);
    expect(transport.requests.map((r) => `${r.kind} ${r.state.command}`)).toEqual(['write run', 'write halt', 'write halt', 'write halt', 'read halt']);
    expect(device.now()).toBe(T0); // at once: no wait on the device clock
    await writer.stop();
  });

  it('a newer plan between the write and the read-back stops the cycle there too: the read-back is of what this cycle wrote', async () => {
    const { device, transport, writer, setState } = setup();
    transport.onRequest = (n) => {
      if (n === 3) {
        setState({ command: 'idle', powerKw: 0, validUntil: T0 + 600_000, batch: null });
        writer.writeNow();
      }
    };
    writer.start();
    await device.advance(0);
    expect(writer.supersededCycles).toBe(1);
    expect(transport.requests.map((r) => `${r.kind} ${r.state.command} ${r.heartbeat}`)).toEqual(['write run 1', 'write run 1', 'write run 1', 'write idle 2', 'write idle 2', 'write idle 2', 'read idle 2']);
    expect(writer.writes).toBe(1);
    await writer.stop();
  });

  it(`counts failed cycles, backs off on device time, and raises the alert at ${FAILED_CYCLES_BEFORE_ALERT} in a row, not before`, async () => {
    const { device, transport, writer, failures } = setup();
    transport.down = new Error('connect ECONNREFUSED 127.0.0.1:502');
    writer.start();
    await device.advance(0);
    expect(writer.tracker.get()).toMatchObject({ state: 'degraded', code: 'plc_write_retrying', message: 'line conching: write failed (connect ECONNREFUSED 127.0.0.1:502); retrying in 500 ms' });
    await device.advance(500);
    expect(writer.consecutiveFailures).toBe(2);
    expect(failures).toEqual([]);
    await device.advance(999);
    expect(writer.consecutiveFailures).toBe(2); // the backoff doubled: 1000 ms
    await device.advance(1);
    expect(writer.consecutiveFailures).toBe(3);
    expect(writer.tracker.get()).toMatchObject({ state: 'failed', code: 'plc_write_failed' });
    expect(writer.tracker.get().message).toMatch(/3 cycles failed in a row$/);
    expect(failures).toEqual(['line conching: write failed (connect ECONNREFUSED 127.0.0.1:502); retrying in 2000 ms']);
    // Each failed cycle dropped the link (a fresh connection never takes a late answer for its own).
    expect(transport.closes).toBe(3);
    // The backoff never exceeds the watchdog period (1000 ms here); the PLC comes back: ok, counters reset.
    transport.down = null;
    await device.advance(1_000);
    expect(writer.tracker.get().state).toBe('ok');
    expect(writer.consecutiveFailures).toBe(0);
    expect(writer.failures).toBe(3);
    expect(writer.lastFault).toMatchObject({ code: 'plc_write_failed', message: 'connect ECONNREFUSED 127.0.0.1:502' });
    expect(failures).toHaveLength(1);
    await writer.stop();
  });

  it('a transport with its own fault codes keeps them (an OPC UA fault code, not the plc_* defaults)', async () => {
    const { device, transport, writer } = setup();
    transport.fault = () => ({ code: 'certificate_untrusted', message: 'line conching: the server certificate is not trusted' });
    transport.down = new Error('x');
    writer.start();
    await device.advance(0);
    expect(writer.tracker.get()).toMatchObject({ state: 'degraded', code: 'certificate_untrusted' });
    expect(writer.lastFault).toMatchObject({ code: 'certificate_untrusted' });
    await writer.stop();
  });

  it('in the write-nothing mode reads and records what it would write, sends no write, keeps the heartbeat, and raises no alert', async () => {
    const { device, outputs, transport, writer, failures } = setup({ dryRun: true });
    writer.start();
    await device.advance(0);
    await device.advance(1_000);
    expect(transport.requests.map((r) => `${r.kind} ${r.heartbeat}`)).toEqual(['dry-read 1', 'dry-read 1']);
    expect(writer.dryCycles).toBe(2);
    expect(writer.writes).toBe(0);
    expect(outputs.wouldWrites()).toEqual([expect.objectContaining({ via: 'modbus', target: 'line conching (fake)', what: 'run', times: 2 })]);
    transport.down = new Error('no route to host');
    for (let i = 0; i < 4; i++) await device.advance(1_000);
    expect(writer.tracker.get()).toMatchObject({ state: 'degraded', code: 'plc_unreachable' });
    expect(failures).toEqual([]);
    await writer.stop();
  });
});
