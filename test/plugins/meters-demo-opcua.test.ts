import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { closeModbus, connectModbus } from '../../gateway/modbus/client.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { OutputMode } from '../../gateway/core/output-mode.js';
import { createOpcuaLines } from '../../plugins/opcua-lines/index.js';
import { demoConfig } from '../../plugins/replay/demo.js';
import { plantBaseLoadKw, startSimulatedSiteMeter } from '../../plugins/replay/simulated-meter.js';
import { simulatedOpcuaConfig, startSimulatedOpcuaPlc } from '../../plugins/replay/simulated-opcua.js';
import { realTimePluginContext } from '../helpers/context.js';
import { lineRun, planDocument } from '../helpers/plan-document.js';

const H = 3_600_000;
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

/**
 * The demo with `demo.plc: opcua` (gateway/main.ts) has a simulated site meter too: its power follows the commands
 * the simulated OPC UA PLC received, written by the gateway's opcua-lines over Basic256Sha256 SignAndEncrypt; in the
 * write-nothing mode nothing reaches the PLC, so the meter shows the base load only.
 */
describe("the demo's simulated site meter with the simulated OPC UA PLC", () => {
  it('reads base load plus the runs the OPC UA PLC received (real Modbus TCP meter, real node-opcua PLC)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'choco-demo-ua-meter-'));
    const lines = ['conching'];
    const plc = await startSimulatedOpcuaPlc(() => undefined, { now: () => Date.now() } as never, lines, join(dir, 'opcua-plc'), join(dir, 'opcua-pki'));
    cleanups.push(() => plc.stop());
    const now = Date.now();
    const clock = { now: () => now } as never;
    const meter = await startSimulatedSiteMeter(clock, () => plc.runningKw());
    cleanups.push(() => meter.stop());
    const config = demoConfig(undefined, dir, undefined, undefined, meter.port, simulatedOpcuaConfig(plc.endpointUrl, lines));
    expect(config.energy.meters).toEqual([expect.objectContaining({ name: 'site-main', role: 'site', port: meter.port })]);
    const store = await SeriesStore.open(join(dir, 'store'));
    cleanups.push(() => store.close());
    const ctx = realTimePluginContext(config, store);
    const outputs = new OutputMode({ dryRun: true, clock: ctx.clock, bus: ctx.bus });
    ctx.outputs = outputs;
    const lineOut = createOpcuaLines(ctx);
    await lineOut.start();
    cleanups.push(() => lineOut.stop());
    const reader = await connectModbus({ transport: 'tcp', host: '127.0.0.1', port: meter.port, baudRate: 9600, unitId: 1, timeoutMs: 2000 }, 'test meter');
    cleanups.push(() => closeModbus(reader));
    const readKw = async () => {
      const r = await reader.readInputRegisters(0x34, 2);
      const b = Buffer.alloc(4);
      b.writeUInt16BE(r.data[0]!, 0);
      b.writeUInt16BE(r.data[1]!, 2);
      return b.readFloatBE(0) / 1000;
    };
    const kw = config.planner.processes.find((p) => p.line === 'conching')!.kw;
    ctx.bus.emit('plan.updated', { version: 1, planId: 'p#1', doc: planDocument(Date.now(), [lineRun('conching', Date.now() - H, Date.now() + 4 * H, kw)]) });
    // Dry run: the gateway connects (SignAndEncrypt) and reads, writes nothing: the meter shows the base load.
    await vi.waitFor(() => expect((lineOut.writers().conching as { dryCycles: number }).dryCycles).toBeGreaterThanOrEqual(1), { timeout: 60_000 });
    expect(plc.values.get('conching.Command')).toBeUndefined();
    expect(await readKw()).toBeCloseTo(plantBaseLoadKw(now), 1);
    // Live: the run is written to the PLC, and the meter follows it.
    await outputs.set(false, 'test', 'live');
    await vi.waitFor(() => expect(plc.values.get('conching.Command')).toBe(1), { timeout: 30_000 });
    expect(await readKw()).toBeCloseTo(plantBaseLoadKw(now) + kw, 1);
  }, 120_000);
});
