import { readSecret } from '../../gateway/config/load.js';
import { errorMessage } from '../../gateway/util/errors.js';
import { HealthTracker } from '../../gateway/util/health.js';
import { PLUGIN_API_VERSION, type Plugin, type PluginContext, type PluginFactory } from '../../gateway/core/plugin-api.js';

const LEVELS = { info: 0, warning: 1, critical: 2 } as const;

/** Alerts to people: a JSON webhook and a Telegram-style bot, each rate-limited, with the same stable codes. */
export function createNotify(ctx: PluginContext): Plugin & { sent(): number; dropped(): number } {
  const cfg = ctx.config.notify;
  const tracker = new HealthTracker(() => ctx.clock.now());
  const token = cfg.telegram ? readSecret(cfg.telegram.token, 'notify.telegram.token') : undefined;
  const webhookUrl = readSecret(cfg.webhookUrl, 'notify.webhookUrl');
  const webhookShown = webhookUrl ? shownOrigin(webhookUrl) : '';
  const windows = new Map<string, number[]>();
  let sent = 0;
  let dropped = 0;
  const allow = (channel: string): boolean => {
    const now = ctx.clock.now();
    const recent = (windows.get(channel) ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= cfg.perMinute) {
      windows.set(channel, recent);
      return false;
    }
    windows.set(channel, [...recent, now]);
    return true;
  };
  const post = async (channel: string, url: string, body: unknown, shownUrl: string) => {
    if (!allow(channel)) {
      dropped++;
      return;
    }
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(ctx.config.fetch.timeoutMs) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      sent++;
      tracker.set('ok', `${sent} notifications sent`);
    } catch (error) {
      tracker.set('degraded', `${channel} ${shownUrl}: ${errorMessage(error)}`, 'notify_failed');
      ctx.log.warn({ channel, err: errorMessage(error) }, 'notification not delivered');
    }
  };
  return {
    name: 'notify',
    async start() {
      ctx.bus.on('alert', 'notify', (a) => {
        if (LEVELS[a.level] < LEVELS[cfg.minLevel]) return;
        const at = new Date(a.at).toISOString();
        if (webhookUrl) void post('webhook', webhookUrl, { site: ctx.config.site.id, code: a.code, level: a.level, message: a.message, at }, webhookShown);
        if (cfg.telegram && token) {
          const url = `${cfg.telegram.baseUrl.replace(/\/$/, '')}/bot${token}/sendMessage`;
          void post('telegram', url, { chat_id: cfg.telegram.chatId, text: `[${a.level.toUpperCase()}] ${a.code} (${ctx.config.site.name}): ${a.message}` }, `${cfg.telegram.baseUrl}/bot***/sendMessage`);
        }
      });
      tracker.set('ok', 'waiting for alerts');
    },
    async stop() {
      ctx.bus.removeOwner('notify');
    },
    health: () => tracker.get(),
    sent: () => sent,
    dropped: () => dropped,
  };
}

/** A webhook URL as it may be shown: its origin only (the path and query often are the credential). */
function shownOrigin(url: string): string {
  try {
    return `${new URL(url).origin}/***`;
  } catch {
    return '<invalid url>';
  }
}

export const notifyPlugin: PluginFactory = {
  name: 'notify',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => (config.notify.webhookUrl || config.notify.telegram ? true : false),
  create: createNotify,
};
