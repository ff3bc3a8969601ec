import type { FailureCode, Outcome } from '../domain/failure.js';
import type { ApprovalPolicy } from '../domain/policy.js';
import type { ForceDownRequest, HistoryEntry, Origin, RequestGroup } from '../domain/request.js';
import type { ComputeService } from '../domain/service.js';
import type { PowerState } from '../domain/power.js';
import type { RequestStore } from './store-port.js';
import type { Job } from './jobs.js';
import type { BmcLookup } from './bmc-port.js';
import type { EvacuationServers, EvacuationSettings } from './evacuate-port.js';
import type { StateCount } from '../domain/instance.js';
import type { Evacuation } from '../domain/evacuation.js';

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
 * before a force-down and decides then (src/app/heartbeat.ts); with
 * `poweringOff`, it is powering the host off via its BMC; `bmc`: the BMC's reading.
 */
export type HostView = (
  | { service: ComputeService }
  | { lookupFailure: { code: FailureCode; message: string } }
  /** Nova not read for this update (e.g. while the BMC powers the host off). */
  | { service?: never; lookupFailure?: never }
) & {
  heartbeatWaitUntil?: number;
  /** The host's BMC, read by the worker (hosts without a BMC entry: absent). */
  bmc?: BmcView;
  /** The worker is powering the host off via its BMC ("power off now"): the power state last read. */
  poweringOff?: PowerState;
  /** What is at stake: the instances Nova has on the host (read by the worker for a card of one host only). */
  instances?: InstancesView;
};

/**
 * The instances on a host, for a card: how many, by Nova's status (its words:
 * the display makes them inert), how many are marked for HA; or why Nova's
 * list could not be read (the code and our words).
 */
export type InstancesView =
  | { total: number; ha: number; byState: StateCount[]; text: string; failure?: never }
  | { failure: { code: FailureCode; message: string } };

/**
 * What a host's BMC said, for a card, the modal or `/force-down status`: its
 * power state and when it was read, or why it could not be read (the code and
 * our words, never a credential).
 */
export type BmcView =
  | { ok: true; powerState: PowerState; readAt: number }
  | { ok: false; code: FailureCode; message: string; reason?: string; readAt: number };

export type { Job };

/** A resolved alert, as the recovery check needs it. */
export interface RecoveryAlert {
  host: string;
  origin: Extract<Origin, { kind: 'alert' }>;
}

/** A show-group job: a grouped card's change, handed from the api to the worker (src/app/jobs.ts). */
export type ShowGroupJob = Extract<Job, { kind: 'show-group' }>;

/** What changed on a grouped card, as the use cases say it. */
export interface GroupChange {
  /** Members whose state changed (their rows, and the card's counts). Default, with no `joined` either: the whole card. */
  rows?: readonly string[];
  /** Requests new to the group: shown, announced in its thread in one line, and given the group's card as theirs. */
  joined?: readonly string[];
  /** Post the card if it is not shown yet (its show job); otherwise only update what is shown. */
  post?: boolean;
}

/**
 * Where requests are shown (the Slack cards, src/slack/cards.ts): a request
 * on a card of its own, or as a row of its group's card. The use cases say
 * what changed; the display decides what that takes (which messages, which
 * of Nova's views, in what order and at what pace).
 */
export interface Cards {
  /**
   * Request `request` changed: show its new state where its card is: its row
   * on its group's card (if the group was recorded and is shown), or its own
   * card, posted if not shown yet. `view`: Nova's view of its host, for a
   * card of its own. Returns its card's message (`ForceDownRequest.messageTs`).
   */
  request(request: ForceDownRequest, view?: HostView): Promise<string | undefined>;
  /**
   * Worker: group `groupId` changed (`change`), or a show-group job asks for
   * it (`job`). Resolves false when the group was never recorded (its members
   * were, and the process stopped): the caller then shows each member on a
   * card of its own.
   */
  group(groupId: string, change?: GroupChange, job?: ShowGroupJob): Promise<boolean>;
  /**
   * Api side, no Slack call: the job that shows `change` of `group` in the
   * worker (its `post` is implied). `settleUntil`: no earlier than this.
   */
  later(group: RequestGroup, change: Omit<GroupChange, 'post'>, settleUntil?: number): ShowGroupJob;
}

/**
 * The evacuation modal's form: `round` 0 asks for the host's first
 * evacuation; `round` n ≥ 1 is **Retry failed…** of round n (a stale form,
 * answered after that round moved on, is refused).
 */
export interface EvacuateForm {
  round: number;
}

/**
 * What the worker read for an open evacuation modal (the api never calls
 * Nova): the instances on the host, and the nova-compute hosts that may take
 * them (enabled, up, not forced down; sorted), or why they could not be read.
 */
export interface EvacuateModalCheck {
  instances?: InstancesView;
  /** Retry failed… (form round ≥ 1): the instances it would send again. */
  retry?: { instances: { id: string; name: string }[] };
  targets: { hosts: string[] } | { failure: { code: FailureCode; message: string } };
}

/** A step of a host's evacuation, for the card's thread (the evacuation as it is after that step). */
export type EvacuationEvent =
  /** An approver asked for it (round 1) or for **Retry failed…** (a later round). */
  | { kind: 'requested'; by: string }
  /** The round's checks refused it before anything was sent (`evacuation.refusal`). */
  | { kind: 'refused' }
  /** Every instance of the round ended: a summary, and each failed, refused or timed-out instance with Nova's reason. */
  | { kind: 'ended' };

/** Where the worker tells people what happened: the cards' audit threads, the modal, answers to status/list. */
export interface Notifier {
  /** Updates the open confirmation modal `viewId` of `request` (its form `form`) with Nova's view of the host. */
  updateModal(viewId: string, request: ForceDownRequest, view: HostView, form?: string): Promise<void>;
  /** Updates the open evacuation modal `viewId` of `request` (its form `form`) with what the worker read. */
  updateEvacuateModal(viewId: string, request: ForceDownRequest, check: EvacuateModalCheck, form: EvacuateForm): Promise<void>;
  /** One step of the host's evacuation, in the card's thread. */
  evacuationEvent(request: ForceDownRequest, evacuation: Evacuation, event: EvacuationEvent): Promise<void>;
  /** Answers `/force-down status` on the command's response_url. */
  replyStatus(responseUrl: string, cloud: string, host: string, result: Outcome<ComputeService>, bmc?: BmcView): Promise<void>;
  /**
   * Answers `/force-down list` on the command's response_url: page `list.page`
   * (1 = first) of the hosts down or forced down; `list.forcedDownSince`: when
   * force-down's records say each host (lower-cased name) was forced down (ms).
   */
  replyList(responseUrl: string, cloud: string, result: Outcome<ComputeService[]>, list?: ListContext): Promise<void>;
  /**
   * A reminder in the thread of `request`'s card (a succeeded force-down):
   * its host has been forced down for `forcedDownForMs`, and the command that
   * unsets it once repaired.
   */
  remind(request: ForceDownRequest, forcedDownForMs: number): Promise<void>;
  /** Adds a line for one lifecycle step to the card's thread (the audit trail people read). */
  audit(request: ForceDownRequest, entry: HistoryEntry): Promise<void>;
  /** One line in the thread of their (shared) card for requests that joined a grouped card (their opening, in one line). */
  auditJoined(joined: readonly ForceDownRequest[]): Promise<void>;
  /** One line in the thread of their (shared) card for requests that took the same step (`entry`, e.g. expired by the sweep), naming every host. */
  auditGroup(requests: readonly ForceDownRequest[], entry: HistoryEntry): Promise<void>;
}

/** What `/force-down list` knows besides Nova's list (see `Notifier.replyList`). */
export interface ListContext {
  /** The page asked for (`/force-down list --page N`), from 1. */
  page: number;
  /** When force-down's own records say each host was forced down (epoch ms), by lower-cased host name. */
  forcedDownSince: ReadonlyMap<string, number>;
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
  /** FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS: how long "power off now" waits for the BMC to report Off (default 120 s). */
  bmcPowerOffTimeoutMs: number;
}

/** Everything the use cases depend on, passed in as plain values. */
export interface AppDeps {
  store: RequestStore;
  /** The Nova gateway of a configured cloud, or undefined for an unknown cloud name. */
  nova: (cloud: string) => NovaGateway | undefined;
  enqueue: (job: Job) => Promise<void>;
  /** Where requests are shown (cards). */
  cards: Cards;
  /** Audit threads, modal, status and list answers. */
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
  /**
   * The host's BMC (Redfish), from configuration only: no network call. Absent,
   * or `undefined` for a host, when it has no BMC entry (it works as without BMCs).
   * Only the worker calls a BMC; the api asks it whether a host has one.
   */
  bmc?: BmcLookup;
  /**
   * The instances Nova has on a host, for a card (what is at stake): the
   * servers gateway of a configured cloud, or undefined (absent: no
   * instances line). Only the worker lists them, never the api (ack path).
   */
  servers?: (cloud: string) => EvacuationServers | undefined;
  /** Evacuating from the card (worker): absent, the evacuation jobs do nothing. */
  evacuation?: EvacuationSettings;
  /**
   * FORCE_DOWN_REMIND_HOURS, in ms: the sweep reminds in its card's thread of
   * a host forced down this long, once per period (src/app/reminders.ts).
   * Absent: no reminders.
   */
  remindEveryMs?: number;
}
