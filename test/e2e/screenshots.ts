/**
 * The README's screenshots: runs `choco-edge demo` in a fresh data directory, lets it replay for a while, and takes
 * the status page in Spanish and English with headless Chromium.
 *   npx tsx test/e2e/screenshots.ts [--wait SECONDS] [--out DIR]     (defaults: 60 s, docs/)
 * Writes <out>/status-page.png (English) and <out>/status-page-es.png (Spanish).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { MAIN, gatewayEnv } from '../helpers/process.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const waitS = Number(arg('wait', '60'));
const out = arg('out', 'docs');
const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (!chromiumPath) throw new Error('needs Debian chromium');

const env = gatewayEnv({ CHOCO_EDGE_DATA_DIR: mkdtempSync(join(tmpdir(), 'choco-screenshots-')), CHOCO_EDGE_LOG_LEVEL: 'info' });
const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'demo'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
let log = '';
child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
try {
  const started = Date.now();
  let http: string | undefined;
  while (!http) {
    if (Date.now() - started > 300_000) throw new Error(`demo did not start:\n${log}`);
    http = /"http":"(http:\/\/[^"]+)","mqtt"/.exec(log)?.[1];
    await new Promise((r) => setTimeout(r, 200));
  }
  process.stdout.write(`demo at ${http}; replaying for ${waitS} s\n`);
  await new Promise((r) => setTimeout(r, waitS * 1000));
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    for (const [lang, file] of [['en', 'status-page.png'], ['es', 'status-page-es.png']] as const) {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      await page.goto(`${http}/?lang=${lang}`);
      await page.waitForSelector('body[data-loaded]', { timeout: 60_000 });
      await page.waitForFunction(() => Object.keys((window as unknown as { chocoCharts: object }).chocoCharts).length === 3, undefined, { timeout: 60_000 });
      await page.screenshot({ path: join(out, file), fullPage: true });
      process.stdout.write(`${join(out, file)}\n`);
      await page.close();
    }
  } finally {
    await browser.close();
  }
} finally {
  child.kill('SIGTERM');
}
