import { randomUUID } from 'node:crypto';
import { WebClient } from '@slack/web-api';
import type { AppDeps, Job, Logger, NovaGateway } from '../app/ports.js';
import type { BotSettings } from '../config/env.js';
import { ConfigError, type SecretDocument } from '../config/schema.js';
import type { CloudClient } from '../openstack/cloud.js';
import { createSlackBot } from '../slack/bot.js';
import { createGroupResolver } from '../slack/groups.js';
import { createSlackNotifier } from '../slack/notifier.js';
import type { RequestStore } from '../store/port.js';
import type { SlackRuntime } from './router.js';

export interface RuntimeOptions {
  settings: BotSettings;
  secret: SecretDocument;
  store: RequestStore;
  enqueue: (job: Job) => Promise<void>;
  log: Logger;
  now?: () => number;
}

export interface Runtime {
  deps: AppDeps;
  slack: SlackRuntime;
  close(): Promise<void>;
}

/**
 * Builds every adapter once (per cold start, or per `npm start`): one Nova
 * client per cloud, the Slack Web API client, the Bolt app, the use cases' deps.
 */
export function composeRuntime(opts: RuntimeOptions): Runtime {
  const { settings, secret, log } = opts;
  const now = opts.now ?? Date.now;
  if (!secret.slack) throw new ConfigError('the secret document needs slack.signingSecret and slack.botToken for the bot');
  const names = Object.keys(secret.clouds);
  const defaultCloud = settings.defaultCloud ?? (names.length === 1 ? names[0] : undefined);
  if (!defaultCloud) throw new ConfigError(`FORCE_DOWN_DEFAULT_CLOUD must name one of the clouds (${names.join(', ')})`);
  if (!Object.hasOwn(secret.clouds, defaultCloud)) {
    throw new ConfigError(`FORCE_DOWN_DEFAULT_CLOUD names "${defaultCloud}", which the secret document does not have (it has: ${names.join(', ')})`);
  }

  // Nova clients are built on first use, and their module (undici) is loaded then too:
  // the api function only checks that a cloud exists, so its cold start never pays for it.
  const clouds = new Map<string, Promise<CloudClient>>();
  const cloudClient = (cloud: string): Promise<CloudClient> => {
    let client = clouds.get(cloud);
    if (!client) {
      client = import('../openstack/cloud.js').then(({ createCloudClient }) => createCloudClient(cloud, secret.clouds[cloud]!));
      clouds.set(cloud, client);
    }
    return client;
  };
  const gateways = new Map<string, NovaGateway>();
  const nova = (cloud: string): NovaGateway | undefined => {
    if (!Object.hasOwn(secret.clouds, cloud)) return undefined;
    let gateway = gateways.get(cloud);
    if (!gateway) {
      gateway = {
        getService: async (host, binary) => (await cloudClient(cloud)).nova.getService(host, binary),
        listComputeServices: async () => (await cloudClient(cloud)).nova.listComputeServices(),
        setForcedDown: async (host, forcedDown, binary) => (await cloudClient(cloud)).nova.setForcedDown(host, forcedDown, binary),
      };
      gateways.set(cloud, gateway);
    }
    return gateway;
  };

  const client = new WebClient(secret.slack.botToken, {
    slackApiUrl: settings.slackApiUrl,
    // Retries (429 with Retry-After, 5xx, network) within a Lambda's lifetime, not Slack's default half hour.
    retryConfig: { retries: 4, factor: 2, minTimeout: 500, maxTimeout: 5_000 },
  });
  const notifier = createSlackNotifier({
    client,
    now,
    log,
    postToResponseUrl: async (url, message) => {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(message), signal: AbortSignal.timeout(5_000) });
      if (!res.ok) log.warn('response_url post failed', { status: res.status });
    },
  });

  const deps: AppDeps = {
    store: opts.store,
    nova,
    enqueue: opts.enqueue,
    notifier,
    policy: { approverUsers: settings.approverUsers, approverGroups: settings.approverGroups, twoPerson: settings.twoPerson },
    allowedChannels: settings.allowedChannels,
    defaultCloud,
    ttlMs: settings.ttlMs,
    now,
    newId: randomUUID,
    log,
  };
  const groupsOf = createGroupResolver({ client, groups: settings.approverGroups, now, log });
  const bot = createSlackBot({ botToken: secret.slack.botToken, slackApiUrl: settings.slackApiUrl, deps, groupsOf });
  return {
    deps,
    slack: { signingSecret: secret.slack.signingSecret, bot },
    close: async () => {
      await Promise.all([...clouds.values()].map(async (c) => (await c).close()));
    },
  };
}
