import { randomUUID } from 'node:crypto';
import type { AppDeps, Job, Logger, Metrics, NovaGateway } from '../app/ports.js';
import type { BmcGateway, BmcLookup } from '../app/bmc-port.js';
import type { EvacuationServers } from '../app/evacuate.js';
import { insecureBmcWarning, resolveBmcTarget } from '../config/bmc.js';
import type { BotSettings } from '../config/env.js';
import { ConfigError, type SecretDocument } from '../config/schema.js';
import type { CloudClient } from '../openstack/cloud.js';
import { createSlackBot } from '../slack/bot.js';
import { isSlackResponseUrl } from '../slack/envelope.js';
import { createGroupResolver } from '../slack/groups.js';
import { createSlackCards } from '../slack/cards.js';
import { createSlackNotifier } from '../slack/notifier.js';
import type { RequestStore } from '../app/store-port.js';
import { createSlackClient, isSlackAuthError, type AuthFailureHook } from './auth-failure.js';
import { receiveAlerts } from '../app/alerts.js';
import { readBmc, readInstances } from '../app/requests.js';
import type { ForceDownRequest } from '../domain/request.js';
import { forgetComputeServices } from '../app/service-list.js';
import { DEFAULT_ALERT_OPTIONS } from '../alerts/types.js';
import { createChannelPacer, type ChannelPacer } from '../slack/pacer.js';
import type { AlertsRuntime } from './alert-routes.js';
import type { SlackRuntime } from './router.js';

export interface RuntimeOptions {
  settings: BotSettings;
  secret: SecretDocument;
  store: RequestStore;
  enqueue: (job: Job) => Promise<void>;
  log: Logger;
  now?: () => number;
  /** Metrics of the use cases and of each Nova call (CloudWatch EMF in Lambda). */
  metrics?: Metrics;
  /** Told when Slack refuses the bot token or Keystone the credentials (Lambda: re-read the secret). */
  onAuthFailure?: AuthFailureHook;
  /**
   * Spaces the worker's Slack posts per channel. Default: Slack's pace for
   * chat.postMessage, about one a second after a burst of five. In-process
   * test benches that post thousands of cards to one fake channel pass a faster one.
   */
  slackPacer?: ChannelPacer;
  /** True once the process is stopping (the local bot's close): evacuation jobs stop following and leave the rest for the next start. */
  stopping?: () => boolean;
}

export interface Runtime {
  deps: AppDeps;
  slack: SlackRuntime;
  alerts: AlertsRuntime;
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
  // Every Nova call: its latency as the bot sees it, and refused credentials reported (rotation).
  const observed = async <T extends { ok: boolean; failure?: { code: string } }>(operation: string, call: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const res = await call();
    opts.metrics?.timing('NovaLatency', performance.now() - started, { Operation: operation });
    if (!res.ok && res.failure?.code === 'AUTH_FAILED') opts.onAuthFailure?.('openstack');
    return res;
  };
  const gateways = new Map<string, NovaGateway>();
  const nova = (cloud: string): NovaGateway | undefined => {
    if (!Object.hasOwn(secret.clouds, cloud)) return undefined;
    let gateway = gateways.get(cloud);
    if (!gateway) {
      gateway = {
        getService: (host, binary) => observed('getService', async () => (await cloudClient(cloud)).nova.getService(host, binary)),
        listComputeServices: () => observed('listComputeServices', async () => (await cloudClient(cloud)).nova.listComputeServices()),
        // A change to Nova makes the shared service list (recovery checks, first posts) stale: forget it, before and after.
        setForcedDown: (host, forcedDown, binary) => {
          forgetComputeServices(gateway!);
          return observed('setForcedDown', async () => (await cloudClient(cloud)).nova.setForcedDown(host, forcedDown, binary)).finally(() => forgetComputeServices(gateway!));
        },
      };
      gateways.set(cloud, gateway);
    }
    return gateway;
  };

  // A host's instances (what is at stake on its card) and their evacuation, from the same lazily built cloud client. Worker only.
  const serverGateways = new Map<string, EvacuationServers>();
  const servers = (cloud: string): EvacuationServers | undefined => {
    if (!Object.hasOwn(secret.clouds, cloud)) return undefined;
    let gateway = serverGateways.get(cloud);
    if (!gateway) {
      const client = async () => (await cloudClient(cloud)).servers;
      gateway = {
        listServersOnHost: (host) => observed('listServersOnHost', async () => (await client()).listServersOnHost(host)),
        evacuate: (serverId, target) => observed('evacuate', async () => (await client()).evacuate(serverId, target)),
        evacuationMigrations: (serverId) => observed('evacuationMigrations', async () => (await client()).evacuationMigrations(serverId)),
        instanceFault: (serverId) => observed('instanceFault', async () => (await client()).instanceFault(serverId)),
        evacuateMicroversion: async () => (await client()).evacuateMicroversion(),
      };
      serverGateways.set(cloud, gateway);
    }
    return gateway;
  };

  const client = createSlackClient(
    secret.slack.botToken,
    {
      slackApiUrl: settings.slackApiUrl,
      // Retries (429 with Retry-After, 5xx, network) within a Lambda's lifetime, not Slack's default half hour.
      retryConfig: { retries: 4, factor: 2, minTimeout: 500, maxTimeout: 5_000 },
      // A hung connection fails (and is retried) instead of holding the worker until Lambda's timeout.
      timeout: 10_000,
    },
    opts.onAuthFailure,
  );
  // About one message a second per channel, short bursts allowed (Slack's chat.postMessage limit):
  // a 200-host storm's five grouped messages go out at once, later updates keep the pace.
  // One pacer for the cards and their threads: they share the channel's budget.
  const pacer = opts.slackPacer ?? createChannelPacer({ minIntervalMs: 1000, burst: 5, log });
  const notifier = createSlackNotifier({
    client,
    now,
    log,
    pacer,
    defaultCloud,
    postToResponseUrl: async (url, message) => {
      // Only Slack's (the api checked the request's; a job is checked again): never another host.
      if (!isSlackResponseUrl(url, settings.slackApiUrl)) return void log.warn("response_url refused: not Slack's");
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(message), signal: AbortSignal.timeout(5_000) });
      if (!res.ok) log.warn('response_url post failed', { status: res.status });
    },
  });


  // BMCs (Redfish): whether a host has one is configuration only (the api offers "Power off now" on
  // it); the Redfish client (and undici) is loaded on the first BMC call, which only the worker makes.
  const bmcSection = secret.bmc;
  const insecure = insecureBmcWarning(bmcSection);
  if (insecure) log.warn(insecure);
  let lookup: Promise<BmcLookup> | undefined;
  const redfish = () => (lookup ??= import('../bmc/redfish.js').then(({ createBmcLookup }) => createBmcLookup(bmcSection, { now, logger: log })));
  const bmc: BmcLookup = (cloud, host) => {
    const target = resolveBmcTarget(bmcSection, cloud, host);
    if (!target) return undefined;
    const gateway = async (): Promise<BmcGateway> => (await redfish())(cloud, host)!;
    return {
      endpoint: target.url,
      readPower: async (o) => (await gateway()).readPower(o),
      powerOff: async (o) => (await gateway()).powerOff(o),
    };
  };

  const hasBmcs = bmcSection !== undefined && Object.keys(bmcSection).length > 0;
  const cards = createSlackCards({
    client,
    store: opts.store,
    nova,
    notifier,
    now,
    log,
    pacer,
    defaultCloud,
    ...(hasBmcs ? { bmc: (r: ForceDownRequest) => readBmc({ bmc, now, log }, r) } : {}),
    instances: (r: ForceDownRequest) => readInstances({ servers, log }, r),
  });

  const deps: AppDeps = {
    store: opts.store,
    nova,
    enqueue: opts.enqueue,
    cards,
    notifier,
    policy: { approverUsers: settings.approverUsers, approverGroups: settings.approverGroups, twoPerson: settings.twoPerson },
    allowedChannels: settings.allowedChannels,
    defaultCloud,
    ttlMs: settings.ttlMs,
    safety: { confirmationMaxAgeMs: settings.confirmationMaxAgeMs, heartbeatWaitMs: settings.heartbeatWaitMs, bmcPowerOffTimeoutMs: settings.bmcPowerOffTimeoutMs },
    now,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    newId: randomUUID,
    log,
    ...(hasBmcs ? { bmc } : {}),
    servers,
    evacuation: { concurrency: settings.evacuateConcurrency, timeoutMs: settings.evacuateTimeoutMs, ...(opts.stopping ? { stopping: opts.stopping } : {}) },
    remindEveryMs: settings.remindEveryMs,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
  };
  const groupsOf = createGroupResolver({ client, groups: settings.approverGroups, now, log });
  const bot = createSlackBot({
    botToken: secret.slack.botToken,
    slackApiUrl: settings.slackApiUrl,
    deps,
    groupsOf,
    // Bolt's own client (views.open) fails into its error handler: report a refused token from there.
    onError: (err) => {
      if (isSlackAuthError(err)) opts.onAuthFailure?.('slack');
    },
  });
  const sources = secret.alerts;
  if (!settings.channel && Object.values(sources).some(Boolean)) {
    throw new ConfigError('FORCE_DOWN_CHANNEL must name the channel for alert cards: the secret document configures alert sources');
  }
  const alerts: AlertsRuntime = {
    source: (name) => sources[name],
    receive: (source, received) => {
      const config = sources[source]!;
      return receiveAlerts(deps, received, {
        source,
        channel: settings.channel!,
        autoForceDown: config.autoForceDown,
        evidenceLabel: config.evidenceLabel ?? DEFAULT_ALERT_OPTIONS.evidenceLabel,
        groupWindowMs: settings.groupWindowMs,
        groupMaxHosts: settings.groupMaxHosts,
        maxNewPerMinute: settings.alertMaxNewPerMinute,
      });
    },
  };
  return {
    deps,
    alerts,
    slack: { signingSecret: secret.slack.signingSecret, bot },
    close: async () => {
      await Promise.all([...clouds.values()].map(async (c) => (await c).close()));
    },
  };
}
