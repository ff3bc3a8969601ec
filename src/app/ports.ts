import type { FailureCode, Outcome } from '../domain/failure.js';
import type { ApprovalPolicy } from '../domain/policy.js';
import type { ForceDownRequest, HistoryEntry, Origin, RequestGroup } from '../domain/request.js';
import type { ComputeService } from '../domain/service.js';
import type { RequestStore } from './store-port.js';
import type { Job } from './jobs.js';

/** What the use cases need of Nova for one cloud (src/openstack's NovaClient fits). */
export interface NovaGateway {
  getService(host: string, binary?: string): Promise<Outcome<ComputeService>>;
  listComputeServices(): Promise<Outcome<ComputeService[]>>;
  setForcedDown(
    host: string,
    forcedDown: boolean,
    binary?: string,
  ): Promise<Outcome<{ service: ComputeService; forcedDown: boolean; request: string; microversion: string; novaResponse: unknown }>>;
}

/**
 * Nova's view for a card: the service, or why it could not be read. With
 * `heartbeatWaitUntil` (ms), the worker is watching the host's heartbeat
 * before a force-down and decides then (src/app/heartbeat.ts).
 */
export type HostView = ({ service: ComputeService } | { lookupFailure: { code: FailureCode; message: string } }) & { heartbeatWaitUntil?: number };

export type { Job };

/** A resolved alert, as the recovery check needs it. */
export interface RecoveryAlert {
  host: string;
  origin: Extract<Origin, { kind: 'alert' }>;
}

/** Where the worker shows requests: the Slack card and its audit thread. */
export interface Notifier {
  /** Posts the request's card, or updates it when it has a messageTs. Returns the card's ts. */
  render(request: ForceDownRequest, view?: HostView): Promise<string | undefined>;
  /** Updates the open confirmation modal `viewId` of `request` (its form `form`) with Nova's view of the host. */
  updateModal(viewId: string, request: ForceDownRequest, view: HostView, form?: string): Promise<void>;
  /** Answers `/force-down status` on the command's response_url. */
  replyStatus(responseUrl: string, cloud: string, host: string, result: Outcome<ComputeService>): Promise<void>;
  /** Answers `/force-down list` on the command's response_url. */
  replyList(responseUrl: string, cloud: string, result: Outcome<ComputeService[]>): Promise<void>;
  /** Adds a line for one lifecycle step to the card's thread (the audit trail people read). */
  audit(request: ForceDownRequest, entry: HistoryEntry): Promise<void>;
  /**
   * Posts or updates a grouped card's messages: `pages` (default all), plus
   * any page not posted yet. `members` in the group's order; `views` by
   * request id. Returns every page's ts, in order.
   */
  renderGroup(group: RequestGroup, members: readonly ForceDownRequest[], views: ReadonlyMap<string, HostView>, pages?: readonly number[]): Promise<string[]>;
  /** One line in the group's thread for requests that joined it (their opening, in one line). */
  auditJoined(group: RequestGroup, joined: readonly ForceDownRequest[]): Promise<void>;
  /** One line in the group's thread for members that took the same step (`entry`, e.g. expired by the sweep), naming every host. */
  auditGroup(group: RequestGroup, requests: readonly ForceDownRequest[], entry: HistoryEntry): Promise<void>;
}

export interface Logger {
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

/** The metrics the use cases and adapters record (see src/runtime/metrics.ts for units and dimensions). */
export type MetricName = 'RequestsOpened' | 'Confirmations' | 'Outcomes' | 'NovaLatency';

/** Operational metrics (CloudWatch EMF in Lambda). Dimension values must be low-cardinality (codes, actions), never ids. */
export interface Metrics {
  /** Adds `value` (default 1) to a counter. */
  count(name: MetricName, dimensions?: Record<string, string>, value?: number): void;
  /** Records a duration in milliseconds. */
  timing(name: MetricName, ms: number, dimensions?: Record<string, string>): void;
}

/** The worker's safety settings: what a confirmation and Nova's evidence must satisfy before a Nova call. */
export interface SafetySettings {
  /** FORCE_DOWN_CONFIRMATION_MAX_AGE_SECONDS: an older confirmation is not acted on (CONFIRMATION_STALE). */
  confirmationMaxAgeMs: number;
  /** FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: how long Nova must not have heard from a host before it is forced down. */
  heartbeatWaitMs: number;
}

/** Everything the use cases depend on, passed in as plain values. */
export interface AppDeps {
  store: RequestStore;
  /** The Nova gateway of a configured cloud, or undefined for an unknown cloud name. */
  nova: (cloud: string) => NovaGateway | undefined;
  enqueue: (job: Job) => Promise<void>;
  notifier: Notifier;
  policy: ApprovalPolicy;
  /** Channels cards may be posted in; empty means any. */
  allowedChannels: ReadonlySet<string>;
  defaultCloud: string;
  ttlMs: number;
  safety: SafetySettings;
  now: () => number;
  /** Waits `ms` (the heartbeat watch); tests pass their clock's. */
  sleep: (ms: number) => Promise<void>;
  newId: () => string;
  log: Logger;
  /** Optional: no metrics when absent. */
  metrics?: Metrics;
}
