import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { REFUSAL_LOG_MAX_PER_WINDOW, RefusalLog } from '../../gateway/mqtt/refusal-log.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { lines, log: pino({ level: 'info' }, stream) };
}
const flush = () => new Promise((r) => setImmediate(r));

describe('refused MQTT publishes and subscriptions are logged, rate-limited', () => {
  it('logs the first refusal of a user and topic, counts the repeats, and logs again a minute later with the count', async () => {
    const { lines, log } = capture();
    let now = 0;
    const refusals = new RefusalLog(log, () => now);
    const who = { client: 'plc-7', username: 'line-conching' };
    for (let i = 0; i < 50; i++) refusals.refused('publish', who, 'choco-edge/lines/mixing/set');
    await flush();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, msg: 'MQTT publish refused', username: 'line-conching', client: 'plc-7', topic: 'choco-edge/lines/mixing/set', suppressed: 0 });
    now += 60_000;
    refusals.refused('publish', who, 'choco-edge/lines/mixing/set');
    await flush();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ suppressed: 49 });
    // Another topic, or a subscription, is its own line.
    refusals.refused('subscribe', who, 'choco-edge/#');
    await flush();
    expect(lines[2]).toMatchObject({ msg: 'MQTT subscribe refused', topic: 'choco-edge/#' });
  });

  it('a client probing many topics cannot flood the log: at most 20 lines a minute, the rest counted', async () => {
    const { lines, log } = capture();
    let now = 1_000;
    const refusals = new RefusalLog(log, () => now);
    for (let i = 0; i < 500; i++) refusals.refused('publish', { client: 'x', username: 'viewer' }, `choco-edge/probe/${i}`);
    await flush();
    expect(lines).toHaveLength(REFUSAL_LOG_MAX_PER_WINDOW);
    now += 60_000;
    refusals.refused('publish', { client: 'x', username: 'viewer' }, 'choco-edge/probe/last');
    await flush();
    expect(lines.at(-1)).toMatchObject({ suppressed: 500 - REFUSAL_LOG_MAX_PER_WINDOW });
    expect(JSON.stringify(lines)).not.toMatch(/password/);
  });
});
