// The files and environment a local bot (`npm start`'s startLocalBot, in this process or as a child
// process) is started with in the integration and reliability suites: one place for what every
// such test writes the same way.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalBot } from '../../src/local/bot.js';
import { createJsonLogger } from '../../src/runtime/logger.js';
import { startFaultyOpenStack, type FaultyOpenStack } from '../fakes/fault-proxy.js';
import type { Lab } from './lab.js';
import { createSlackSender } from './slack-helpers.js';

type LocalBot = Awaited<ReturnType<typeof startLocalBot>>;

export interface LocalBotFiles {
  /** The SQLite file the bot will use (not created yet). */
  db: string;
  /** The secret document, as written (mode 0600). */
  secretFile: string;
  /** PORT=0 (any free port), FORCE_DOWN_DB, FORCE_DOWN_SECRET_FILE, SLACK_API_URL, FORCE_DOWN_APPROVERS, FORCE_DOWN_CHANNEL; a test spreads its own settings over it. */
  env: Record<string, string>;
}

/** Writes the secret document `secret` into `dir` (secret.json, 0600) and returns the bot's environment with it, a SQLite file in `dir`, the fake Slack and the approvers' channel. */
export function localBotFiles(dir: string, o: { secret: unknown; slackApiUrl: string; approvers: string; channel: string }): LocalBotFiles {
  const secretFile = join(dir, 'secret.json');
  writeFileSync(secretFile, JSON.stringify(o.secret), { mode: 0o600 });
  const db = join(dir, 'force-down.sqlite');
  return {
    db,
    secretFile,
    env: {
      PORT: '0',
      FORCE_DOWN_DB: db,
      FORCE_DOWN_SECRET_FILE: secretFile,
      SLACK_API_URL: o.slackApiUrl,
      FORCE_DOWN_APPROVERS: o.approvers,
      FORCE_DOWN_CHANNEL: o.channel,
    },
  };
}

/** What {@link startProxiedBot} starts: the bot, the proxy in front of the lab, the bot's folder, a signed Slack sender. */
export interface ProxiedBot {
  bot: LocalBot;
  proxy: FaultyOpenStack;
  dir: string;
  sender: ReturnType<typeof createSlackSender>;
}

/**
 * The local bot as `npm start` runs it (two-person rule off), its one cloud
 * `cloud` being the lab's admin cloud reached through a proxy that sees (and
 * can fail) every call to Keystone and Nova; its log lines go to `logLines`.
 * `secret`: more sections of the secret document (alerts, bmc); `env`: more
 * settings. `started` hears the proxy and then the bot as each exists, so the
 * caller's clean-up can close them even when a later step fails.
 */
export async function startProxiedBot(o: {
  prefix: string;
  lab: Lab;
  cloud: string;
  slack: { apiUrl: string };
  signingSecret: string;
  botToken: string;
  approver: string;
  channel: string;
  logLines: string[];
  secret?: Record<string, unknown>;
  env?: Record<string, string>;
  started?: { proxy: (p: FaultyOpenStack) => void; bot: (b: LocalBot, dir: string) => void };
}): Promise<ProxiedBot> {
  const dir = mkdtempSync(join(tmpdir(), o.prefix));
  const proxy = await startFaultyOpenStack({ keystone: o.lab.keystone, nova: o.lab.nova });
  o.started?.proxy(proxy);
  const admin = o.lab.clouds.admin;
  const { env } = localBotFiles(dir, {
    secret: {
      slack: { signingSecret: o.signingSecret, botToken: o.botToken },
      ...o.secret,
      clouds: { [o.cloud]: { ...admin, auth: { ...admin.auth, auth_url: proxy.authUrl } } },
    },
    slackApiUrl: o.slack.apiUrl,
    approvers: o.approver,
    channel: o.channel,
  });
  const bot = await startLocalBot({
    env: { ...env, FORCE_DOWN_TWO_PERSON: 'false', ...o.env },
    log: createJsonLogger({ write: (line) => o.logLines.push(line) }),
  });
  o.started?.bot(bot, dir);
  const sender = createSlackSender({ url: () => bot.url, signingSecret: o.signingSecret, now: Date.now });
  return { bot, proxy, dir, sender };
}
