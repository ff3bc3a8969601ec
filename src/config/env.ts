import { z } from 'zod';
import { ConfigError, describeIssues } from './schema.js';

type Env = Record<string, string | undefined>;

const SLACK_ID = /^[UWS][A-Z0-9]{2,}$/;
const CHANNEL_ID = /^[CGD][A-Z0-9]{2,}$/;

const list = (re: RegExp, what: string) =>
  z
    .string()
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(re, `each entry must be a Slack ${what} id`)));

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/**
 * Non-secret settings of the bot, the same names locally and in Lambda.
 * (Secrets live in the secret document, never here.)
 */
export const botEnvSchema = z
  .object({
    FORCE_DOWN_SECRET_FILE: z.string().min(1).optional(),
    FORCE_DOWN_SECRET_ID: z.string().min(1).optional(),
    FORCE_DOWN_CHANNEL: z.string().regex(CHANNEL_ID, 'must be a Slack channel id (C…)').optional(),
    FORCE_DOWN_ALLOWED_CHANNELS: list(CHANNEL_ID, 'channel').optional(),
    FORCE_DOWN_APPROVERS: list(SLACK_ID, 'user (U…/W…) or user-group (S…)').refine((a) => a.length > 0, 'name at least one approver'),
    FORCE_DOWN_DEFAULT_CLOUD: z.string().min(1).optional(),
    FORCE_DOWN_TWO_PERSON: bool.default(false),
    FORCE_DOWN_REQUEST_TTL_MINUTES: z.coerce.number({ error: 'must be a number of minutes' }).int().min(1).max(24 * 60).default(30),
    FORCE_DOWN_GROUP_WINDOW_SECONDS: z.coerce.number({ error: 'must be a number of seconds' }).int().min(0).max(3600).default(30),
    FORCE_DOWN_GROUP_MAX_HOSTS: z.coerce.number({ error: 'must be a number of hosts' }).int().min(1).max(5000).default(100),
    FORCE_DOWN_ALERT_MAX_NEW_PER_MINUTE: z.coerce.number({ error: 'must be a number of requests' }).int().min(1).max(100_000).default(200),
    FORCE_DOWN_CONFIRMATION_MAX_AGE_SECONDS: z.coerce.number({ error: 'must be a number of seconds' }).int().min(60).max(3600).default(600),
    FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: z.coerce.number({ error: 'must be a number of seconds' }).int().min(0).max(120).default(20),
    FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS: z.coerce.number({ error: 'must be a number of seconds' }).int().min(10).max(900).default(120),
    FORCE_DOWN_EVACUATE_CONCURRENCY: z.coerce.number({ error: 'must be a number of evacuations' }).int().min(1).max(50).default(5),
    FORCE_DOWN_EVACUATE_TIMEOUT_MINUTES: z.coerce.number({ error: 'must be a number of minutes' }).int().min(1).max(240).default(30),
    // Hours, fractions allowed (0.5 = 30 min; the minimum, 0.001 = 3.6 s, is for tests): the sweep's period for reminding of a host left forced down.
    FORCE_DOWN_REMIND_HOURS: z.coerce
      .number({ error: 'must be a number of hours' })
      .min(0.001, { error: 'must be at least 0.001 hours' })
      .max(720, { error: 'must be at most 720 hours (30 days)' })
      .default(24),
    // The local server only (API Gateway stands in front of Lambda); checked against the descriptor limit at start (src/local/limits.ts).
    FORCE_DOWN_MAX_CONNECTIONS: z.coerce.number({ error: 'must be a number of connections' }).int().min(16).max(1_000_000).optional(),
    SLACK_API_URL: z.url({ error: 'must be a URL' }).default('https://slack.com/api/'),
  });

export interface BotSettings {
  secretFile?: string;
  secretId?: string;
  channel?: string;
  allowedChannels: Set<string>;
  approverUsers: Set<string>;
  approverGroups: Set<string>;
  defaultCloud?: string;
  twoPerson: boolean;
  ttlMs: number;
  /** Alert hosts arriving within this long of a grouped card's creation join that card. */
  groupWindowMs: number;
  /** Rows on one grouped card; hosts beyond it get one summary line, no request. */
  groupMaxHosts: number;
  /** New requests one alert source may open per minute; alerts beyond it are dropped (counted in the answer and the log). */
  alertMaxNewPerMinute: number;
  /** A confirmation older than this is not acted on (CONFIRMATION_STALE). */
  confirmationMaxAgeMs: number;
  /** Nova must not have heard from a host for this long before it is forced down. */
  heartbeatWaitMs: number;
  /** After a BMC power-off is accepted, how long to wait for it to report Off (BMC_POWER_OFF_TIMEOUT). */
  bmcPowerOffTimeoutMs: number;
  /** Evacuations of one host in progress at once (FORCE_DOWN_EVACUATE_CONCURRENCY). */
  evacuateConcurrency: number;
  /** How long an accepted evacuation may take to end (FORCE_DOWN_EVACUATE_TIMEOUT_MINUTES), in ms. */
  evacuateTimeoutMs: number;
  /** A host forced down this long (FORCE_DOWN_REMIND_HOURS, in ms) gets a reminder in its card's thread, once per period. */
  remindEveryMs: number;
  /** The local server's cap on inbound connections (default: from the descriptor limit, src/local/limits.ts). */
  maxConnections?: number;
  slackApiUrl: string;
}

/** Reads the bot's settings; one ConfigError lists every bad or missing variable. */
export function loadBotSettings(env: Env): BotSettings {
  const res = botEnvSchema.safeParse(env, { reportInput: true });
  // Checked outside the schema so that it is listed together with every other problem.
  const problems = env.FORCE_DOWN_SECRET_FILE || env.FORCE_DOWN_SECRET_ID ? [] : ['FORCE_DOWN_SECRET_FILE: missing: set FORCE_DOWN_SECRET_FILE (local) or FORCE_DOWN_SECRET_ID (AWS)'];
  if (!res.success) problems.push(...describeIssues(res.error, (p) => p[0] ?? '(environment)'));
  else if (res.data.FORCE_DOWN_CHANNEL && res.data.FORCE_DOWN_ALLOWED_CHANNELS && !res.data.FORCE_DOWN_ALLOWED_CHANNELS.includes(res.data.FORCE_DOWN_CHANNEL)) {
    problems.push('FORCE_DOWN_ALLOWED_CHANNELS: must include FORCE_DOWN_CHANNEL (alert cards are posted there)');
  }
  if (problems.length > 0 || !res.success) throw new ConfigError('the bot is not configured', problems);
  const e = res.data;
  const approvers = e.FORCE_DOWN_APPROVERS;
  const allowed = e.FORCE_DOWN_ALLOWED_CHANNELS ?? (e.FORCE_DOWN_CHANNEL ? [e.FORCE_DOWN_CHANNEL] : []);
  return {
    ...(e.FORCE_DOWN_SECRET_FILE ? { secretFile: e.FORCE_DOWN_SECRET_FILE } : {}),
    ...(e.FORCE_DOWN_SECRET_ID ? { secretId: e.FORCE_DOWN_SECRET_ID } : {}),
    ...(e.FORCE_DOWN_CHANNEL ? { channel: e.FORCE_DOWN_CHANNEL } : {}),
    allowedChannels: new Set(allowed),
    approverUsers: new Set(approvers.filter((a) => !a.startsWith('S'))),
    approverGroups: new Set(approvers.filter((a) => a.startsWith('S'))),
    ...(e.FORCE_DOWN_DEFAULT_CLOUD ? { defaultCloud: e.FORCE_DOWN_DEFAULT_CLOUD } : {}),
    twoPerson: e.FORCE_DOWN_TWO_PERSON,
    ttlMs: e.FORCE_DOWN_REQUEST_TTL_MINUTES * 60_000,
    groupWindowMs: e.FORCE_DOWN_GROUP_WINDOW_SECONDS * 1000,
    groupMaxHosts: e.FORCE_DOWN_GROUP_MAX_HOSTS,
    alertMaxNewPerMinute: e.FORCE_DOWN_ALERT_MAX_NEW_PER_MINUTE,
    confirmationMaxAgeMs: e.FORCE_DOWN_CONFIRMATION_MAX_AGE_SECONDS * 1000,
    heartbeatWaitMs: e.FORCE_DOWN_HEARTBEAT_WAIT_SECONDS * 1000,
    bmcPowerOffTimeoutMs: e.FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS * 1000,
    evacuateConcurrency: e.FORCE_DOWN_EVACUATE_CONCURRENCY,
    evacuateTimeoutMs: e.FORCE_DOWN_EVACUATE_TIMEOUT_MINUTES * 60_000,
    remindEveryMs: Math.round(e.FORCE_DOWN_REMIND_HOURS * 3_600_000),
    ...(e.FORCE_DOWN_MAX_CONNECTIONS !== undefined ? { maxConnections: e.FORCE_DOWN_MAX_CONNECTIONS } : {}),
    slackApiUrl: e.SLACK_API_URL.endsWith('/') ? e.SLACK_API_URL : `${e.SLACK_API_URL}/`,
  };
}

/**
 * FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS alone, in ms, parsed as the bot
 * parses it (same range and default): the breakglass CLI reads it for
 * --power-off. An empty value counts as unset.
 */
export function bmcPowerOffTimeoutMs(env: Env): number {
  return oneSetting(env, 'FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS', 'seconds') * 1000;
}

/** The breakglass CLI's evacuation settings, parsed as the bot parses them (same ranges and defaults; empty counts as unset). */
export function evacuateSettings(env: Env): { concurrency: number; timeoutMs: number } {
  return {
    concurrency: oneSetting(env, 'FORCE_DOWN_EVACUATE_CONCURRENCY', 'evacuations'),
    timeoutMs: oneSetting(env, 'FORCE_DOWN_EVACUATE_TIMEOUT_MINUTES', 'minutes') * 60_000,
  };
}

type NumberSetting =
  | 'FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS'
  | 'FORCE_DOWN_EVACUATE_CONCURRENCY'
  | 'FORCE_DOWN_EVACUATE_TIMEOUT_MINUTES';

function oneSetting(env: Env, name: NumberSetting, unit: string): number {
  const raw = env[name]?.trim();
  const field = botEnvSchema.shape[name];
  const res = field.safeParse(raw === '' ? undefined : raw);
  if (!res.success) {
    const { minValue, maxValue } = field.unwrap();
    throw new ConfigError(`${name} must be a whole number of ${unit} from ${minValue} to ${maxValue} (got "${raw?.slice(0, 20)}")`);
  }
  return res.data;
}
