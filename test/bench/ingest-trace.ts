// Per-stage timestamps of one ingest → store → MQTT delivery, for the bench (test/bench/run.ts, ingestToPublish).
// Hooks only the bench's own gateway instance (wrapped methods, undici's diagnostics channels, aedes's 'publish'
// event); nothing on the gateway's path is changed. Times are performance.now() ms.
import diagnostics_channel from 'node:diagnostics_channel';
import { readFileSync, readdirSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Aedes } from 'aedes';
import type { Gateway } from '../../gateway/controller.js';
import type { DaySource } from '../../gateway/sources/day-source.js';

/** The stages in path order: [name, the mark that ends it]. Each stage starts at the previous mark (the first at t0). */
export const STAGES = [
  ['before fetch', 'fetchStart'],
  ['HTTP request → response headers', 'headers'],
  ['response body', 'body'],
  ['parse (latin1 text → slots)', 'parsed'],
  ['validation (inside the day, clock trust)', 'writeIssued'],
  ['store: replaced-range keys read, ops built', 'batchIssued'],
  ['store: LevelDB batch incl. fsync', 'batchResolved'],
  ['store: write resolves', 'writeResolved'],
  ['payload (status, 3-day read, JSON) → publish', 'publishIssued'],
  ['publish → broker delivers (aedes publish event)', 'brokerGot'],
  ['→ subscriber received', 'subscriberGot'],
  ['subscriber parses, run ends', 'end'],
] as const;
export type Mark = (typeof STAGES)[number][1];

export interface RunTrace {
  marks: Partial<Record<Mark, number>>;
  t0: number;
  total: number;
  /** The event loop's longest delay inside the run (monitorEventLoopDelay, 1 ms resolution), ms. */
  loopDelayMaxMs: number;
  /**
   * Time this process's threads were runnable but waiting for a core (Linux /proc/<pid>/task/<tid>/schedstat, field 2):
   * the main (JS) thread, and all threads together (LevelDB's and libuv's included), ms. Other processes on the box own it.
   */
  runQueueMainMs: number;
  runQueueAllMs: number;
  /** When the ingest call itself resolved (the second series written, completeness read), relative to t0. */
  ingestResolved: number;
}

/** Installs the hooks on `gw` (its 'omie' day source, store, MQTT connection and embedded broker). */
export function traceIngest(gw: Gateway, topic: string, series: string) {
  let current: Partial<Record<Mark, number>> | undefined;
  const mark = (m: Mark): void => {
    if (current && current[m] === undefined) current[m] = performance.now();
  };
  const onCreate = (): void => mark('fetchStart');
  const onHeaders = (): void => mark('headers');
  const onTrailers = (): void => mark('body');
  diagnostics_channel.subscribe('undici:request:create', onCreate);
  diagnostics_channel.subscribe('undici:request:headers', onHeaders);
  diagnostics_channel.subscribe('undici:request:trailers', onTrailers);

  const omie = gw.plugins.get('omie')!.plugin as DaySource;
  const options = (omie as unknown as { options: { fetchDay: (d: string) => Promise<unknown> } }).options;
  const fetchDay = options.fetchDay;
  options.fetchDay = async (d) => {
    const r = await fetchDay(d);
    mark('parsed');
    return r;
  };
  const store = gw.store;
  // The store's write entry points (writeMany where this version has it; write as well, for older versions in A/B runs).
  const hooked = store as unknown as Record<'write' | 'writeMany', ((...args: unknown[]) => Promise<unknown>) | undefined>;
  for (const name of ['write', 'writeMany'] as const) {
    const original = hooked[name]?.bind(store);
    if (!original) continue;
    hooked[name] = async (...args: unknown[]) => {
      const mine = name === 'write' ? args[0] === series : (args[0] as Array<{ series: string }>).some((e) => e.series === series);
      if (mine) mark('writeIssued');
      const r = await original(...args);
      if (mine) mark('writeResolved');
      return r;
    };
  }
  const db = (store as unknown as { db: { batch: (ops: Array<{ key: string }>, o?: unknown) => Promise<void> } }).db;
  const batch = db.batch.bind(db);
  db.batch = async (ops, o) => {
    const mine = Array.isArray(ops) && ops.some((op) => op.key.startsWith(`s!${series}!`));
    if (mine) mark('batchIssued');
    await batch(ops, o);
    if (mine) mark('batchResolved');
  };
  const mqttConn = (gw as unknown as { mqtt: { publish: (t: string, p: unknown, o?: unknown) => Promise<void> } }).mqtt;
  const publish = mqttConn.publish.bind(mqttConn);
  mqttConn.publish = (t, p, o) => {
    if (t === `prices/${series}`) mark('publishIssued');
    return publish(t, p, o);
  };
  const aedes = (gw.broker as unknown as { aedes: Aedes }).aedes;
  aedes.on('publish', (packet) => {
    if (packet.topic === topic) mark('brokerGot');
  });
  /** [main thread's run-queue wait, all threads' together] in ns; zeros where /proc is not there. */
  const runQueue = (): [number, number] => {
    try {
      let all = 0;
      let main = 0;
      for (const tid of readdirSync('/proc/self/task')) {
        const w = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
        all += w;
        if (tid === String(process.pid)) main = w;
      }
      return [main, all];
    } catch {
      return [0, 0];
    }
  };
  let rq0: [number, number] = [0, 0];
  const loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  return {
    /** Starts a run's record. */
    begin(): number {
      current = {};
      rq0 = runQueue();
      loop.reset();
      return performance.now();
    },
    /** The subscriber has the message (call before parsing it). */
    received: (): void => mark('subscriberGot'),
    /** Ends the run: `t0` from begin(), `ingestAt` when the ingest call resolved. */
    end(t0: number, ingestAt: number): RunTrace {
      const marks = current!;
      mark('end');
      current = undefined;
      const end = Math.max(marks.end!, ingestAt);
      const rq = runQueue();
      return { marks, t0, total: end - t0, loopDelayMaxMs: loop.max / 1e6, ingestResolved: ingestAt - t0, runQueueMainMs: (rq[0] - rq0[0]) / 1e6, runQueueAllMs: (rq[1] - rq0[1]) / 1e6 };
    },
    close(): void {
      loop.disable();
      diagnostics_channel.unsubscribe('undici:request:create', onCreate);
      diagnostics_channel.unsubscribe('undici:request:headers', onHeaders);
      diagnostics_channel.unsubscribe('undici:request:trailers', onTrailers);
    },
  };
}

/** Durations of each stage of one run (ms); a stage whose mark is missing gets 0 and the time goes to the next. */
export function stageDurations(r: RunTrace): number[] {
  let prev = r.t0;
  return STAGES.map(([, m]) => {
    const at = r.marks[m];
    if (at === undefined) return 0;
    const d = Math.max(0, at - prev);
    prev = Math.max(prev, at);
    return d;
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
};

/**
 * The stage breakdown of the slowest 1 % of runs (at least 3) beside all runs': per stage the median of its duration
 * in each group, and which stage grows most. Lines to print.
 */
export function tailBreakdown(runs: RunTrace[]): { lines: string[]; owner: string } {
  const sorted = [...runs].sort((a, b) => a.total - b.total);
  const n = Math.max(3, Math.ceil(sorted.length / 100));
  const slow = sorted.slice(-n);
  const mid = sorted;
  const slowD = slow.map(stageDurations);
  const midD = mid.map(stageDurations);
  const lines: string[] = [`  stage breakdown (ms): median over all ${sorted.length} runs → median over the ${n} slowest (≥ p99)`];
  let owner = '';
  let grow = -Infinity;
  STAGES.forEach(([name], i) => {
    const s = median(slowD.map((d) => d[i]!));
    const m = median(midD.map((d) => d[i]!));
    if (s - m > grow) {
      grow = s - m;
      owner = name;
    }
    lines.push(`    ${name.padEnd(48)} ${m.toFixed(2).padStart(6)} → ${s.toFixed(2).padStart(6)}`);
  });
  lines.push(`    ${'total'.padEnd(48)} ${median(mid.map((r) => r.total)).toFixed(2).padStart(6)} → ${median(slow.map((r) => r.total)).toFixed(2).padStart(6)}`);
  lines.push(`    ${'event loop, longest delay inside the run'.padEnd(48)} ${median(mid.map((r) => r.loopDelayMaxMs)).toFixed(2).padStart(6)} → ${median(slow.map((r) => r.loopDelayMaxMs)).toFixed(2).padStart(6)}`);
  lines.push(`    ${'ingest call resolved (2nd series, completeness)'.padEnd(48)} ${median(mid.map((r) => r.ingestResolved)).toFixed(2).padStart(6)} → ${median(slow.map((r) => r.ingestResolved)).toFixed(2).padStart(6)}`);
  lines.push(`    ${'main thread waiting for a core (run queue)'.padEnd(48)} ${median(mid.map((r) => r.runQueueMainMs)).toFixed(2).padStart(6)} → ${median(slow.map((r) => r.runQueueMainMs)).toFixed(2).padStart(6)}`);
  lines.push(`    ${'all threads waiting for a core, summed'.padEnd(48)} ${median(mid.map((r) => r.runQueueAllMs)).toFixed(2).padStart(6)} → ${median(slow.map((r) => r.runQueueAllMs)).toFixed(2).padStart(6)}`);
  lines.push(`  the tail grows most in: ${owner} (+${grow.toFixed(2)} ms)`);
  return { lines, owner };
}
