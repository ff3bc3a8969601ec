import { compareMicroversions } from '../domain/microversion.js';
import { z } from 'zod';
import type { EvacuateGateway, EvacuationAccepted } from '../app/evacuate-port.js';
import type { Failure, FailureCode, Outcome } from '../domain/failure.js';
import {
  evacuateBody,
  evacuateMicroversion,
  isHaEnabled,
  MIGRATION_TYPE_SHOWN_FROM,
  migrationPhase,
  serversMicroversion,
  type EvacuationMigration,
  type Instance,
} from '../domain/instance.js';
import type { HttpClient, HttpResponse } from './http.js';
import { OpenStackError, errorMessageOf, type KeystoneSession } from './keystone.js';
import { classifyNovaError, outcome, readMaxMicroversion, sendToNova } from './nova.js';

/**
 * Nova's servers and migrations APIs for evacuating a host: the instances on
 * it, the evacuate action, and the evacuations' migration records. Same
 * session, HTTP client and error words as src/openstack/nova.ts.
 */

export interface ServersOptions {
  session: KeystoneSession;
  http: HttpClient;
  /** The cloud's pinned `compute_api_version`: never exceeded (a pin below 2.14 makes evacuate NOVA_TOO_OLD). */
  microversion?: string;
  /** Servers asked for per page (`limit`); Nova caps it at its own `[api] max_limit` (1000 by default). */
  pageSize?: number;
  /** Most instances read for one host; more is TOO_MANY_INSTANCES. */
  maxInstances?: number;
}

export const DEFAULT_PAGE_SIZE = 1000;
export const DEFAULT_MAX_INSTANCES = 10_000;

export type ServersClient = Required<EvacuateGateway> & {
  /** The microversion evacuate would use (NOVA_TOO_OLD below 2.14), from Nova's version document, read once per client. */
  evacuateMicroversion(): Promise<Outcome<string>>;
};

const EVACUATE_REQUEST = 'POST /servers/{id}/action';

const rawServer = z.object({
  id: z.string().min(1),
  name: z.string().nullish(),
  status: z.string().nullish(),
  'OS-EXT-STS:vm_state': z.string().nullish(),
  'OS-EXT-STS:task_state': z.string().nullish(),
  'OS-EXT-SRV-ATTR:host': z.string().nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
});
const link = z.object({ rel: z.string().optional(), href: z.string().optional() });
const serversPage = z.object({ servers: z.array(rawServer), servers_links: z.array(link).nullish() });

const rawMigration = z.object({
  id: z.union([z.number(), z.string()]),
  uuid: z.string().nullish(),
  instance_uuid: z.string().nullish(),
  status: z.string().nullish(),
  migration_type: z.string().nullish(),
  source_compute: z.string().nullish(),
  dest_compute: z.string().nullish(),
  created_at: z.string().nullish(),
  updated_at: z.string().nullish(),
});
const migrationsPage = z.object({ migrations: z.array(rawMigration) });
const serverShown = z.object({ server: z.object({ fault: z.object({ message: z.string().nullish() }).nullish() }) });

function toInstance(raw: z.infer<typeof rawServer>): Instance {
  const host = raw['OS-EXT-SRV-ATTR:host'];
  const vmState = raw['OS-EXT-STS:vm_state'];
  return {
    id: raw.id,
    name: raw.name ?? '',
    status: raw.status || 'UNKNOWN',
    ...(vmState ? { vmState } : {}),
    taskState: raw['OS-EXT-STS:task_state'] ?? null,
    ...(host ? { host } : {}),
    ha: isHaEnabled(raw.metadata),
  };
}

function toMigration(raw: z.infer<typeof rawMigration>, serverId: string): EvacuationMigration {
  const status = raw.status ?? '';
  return {
    id: String(raw.id),
    ...(raw.uuid ? { uuid: raw.uuid } : {}),
    instanceId: raw.instance_uuid ?? serverId,
    status,
    phase: migrationPhase(status),
    ...(raw.source_compute ? { sourceCompute: raw.source_compute } : {}),
    ...(raw.dest_compute !== undefined ? { destCompute: raw.dest_compute } : {}),
    ...(raw.created_at ? { createdAt: raw.created_at } : {}),
    ...(raw.updated_at !== undefined ? { updatedAt: raw.updated_at } : {}),
  };
}

/** Newest first: by creation time, then by Nova's increasing id. */
function newestFirst(a: EvacuationMigration, b: EvacuationMigration): number {
  const byTime = (b.createdAt ?? '').localeCompare(a.createdAt ?? '');
  return byTime || Number(b.id) - Number(a.id) || b.id.localeCompare(a.id);
}

const STATE_CONFLICT_RE = /while it is in (task_state|vm_state) (\S+?)\.?$/i;
const IN_USE_RE = /is still in use/i;
const SAME_HOST_RE = /target host can't be the same|same one/i;
const TARGET_404_RE = /Compute host .* (?:not found|could not be found)/i;
const INSTANCE_404_RE = /Instance .* could not be found/i;
const NO_VALID_HOST_RE = /No valid host/i;

/**
 * Turns Nova's refusal of an evacuate into a Failure, in plain words; Nova's
 * own message stays in `detail`. `target`: the host asked for, if any.
 */
export function classifyEvacuateError(res: Pick<HttpResponse, 'status' | 'body' | 'text'>, target?: string): Failure {
  const detail = errorMessageOf(res.body) ?? res.text.slice(0, 300);
  const make = (code: FailureCode, message: string): Failure => ({ code, message, detail, status: res.status, request: EVACUATE_REQUEST });
  if (NO_VALID_HOST_RE.test(detail)) return make('NO_VALID_HOST', "Nova's scheduler found no host with room for the instance");
  switch (res.status) {
    case 409: {
      const m = STATE_CONFLICT_RE.exec(detail);
      const what = m ? `while its ${m[1] === 'task_state' ? 'task state' : 'state'} is ${m[2]}` : 'in its current state';
      return make('INSTANCE_STATE_CONFLICT', `Nova will not evacuate the instance ${what}`);
    }
    case 400:
      if (IN_USE_RE.test(detail)) return make('HOST_STILL_IN_USE', "Nova still sees the instance's host as up (its nova-compute is not forced down)");
      if (SAME_HOST_RE.test(detail)) return make('TARGET_SAME_HOST', `the chosen target${target ? ` ${target}` : ''} is the host the instance is on`);
      return make('NOVA_REJECTED', 'Nova rejected the evacuate request (HTTP 400)');
    case 403:
      return make('NOVA_FORBIDDEN', "Nova's policy does not allow these credentials to evacuate (os_compute_api:os-evacuate)");
    case 404:
      if (TARGET_404_RE.test(detail) || (target && !INSTANCE_404_RE.test(detail))) {
        return make('TARGET_NOT_FOUND', `Nova has no compute host named ${target ?? 'as the chosen target'}`);
      }
      return make('INSTANCE_NOT_FOUND', 'Nova does not know the instance (deleted since it was listed?)');
    default:
      return classifyNovaError(res, EVACUATE_REQUEST);
  }
}

/** A refusal of a read (servers, migrations): Nova's words, with a 403 and a 404 said for these APIs. */
function classifyReadError(res: HttpResponse, request: string, policy: string): Failure {
  const f = classifyNovaError(res, request);
  if (res.status === 403) return { ...f, message: `Nova's policy does not allow these credentials to read this (${policy})` };
  if (res.status === 404) return { ...f, code: 'NOVA_REJECTED', message: `Nova answered ${request} with HTTP 404` };
  return f;
}

function unreadable(request: string, error: z.ZodError): OpenStackError {
  const where = error.issues[0]?.path.join('.') || 'body';
  return new OpenStackError({ code: 'NOVA_REJECTED', message: `Nova's answer to ${request} is not what its API documents (at ${where})`, request, status: 200 });
}

/** Creates the servers client for one cloud. Create one per cloud and keep it: it reads Nova's version document once. */
export function createServersClient(opts: ServersOptions): ServersClient {
  const { session, http } = opts;
  const pageSize = Math.max(1, Math.floor(opts.pageSize ?? DEFAULT_PAGE_SIZE));
  const maxInstances = Math.max(1, Math.floor(opts.maxInstances ?? DEFAULT_MAX_INSTANCES));
  let max: Promise<string> | undefined;

  function maxVersion(): Promise<string> {
    max ??= readMaxMicroversion(session, http).catch((err: unknown) => {
      max = undefined; // a failure is not cached: the next call reads again
      throw err;
    });
    return max;
  }

  async function listOnHost(host: string): Promise<Instance[]> {
    const microversion = serversMicroversion(await maxVersion(), opts.microversion);
    const request = 'GET /servers/detail';
    const byId = new Map<string, Instance>();
    const markers = new Set<string>();
    let marker: string | undefined;
    for (;;) {
      const query = new URLSearchParams({ host, all_tenants: '1', limit: String(pageSize), ...(marker ? { marker } : {}) });
      const res = await sendToNova(session, http, { method: 'GET', path: `/servers/detail?${query}`, microversion, request });
      if (res.status !== 200) throw new OpenStackError(classifyReadError(res, request, 'os_compute_api:servers:detail:get_all_tenants'));
      const page = serversPage.safeParse(res.body);
      if (!page.success) throw unreadable(request, page.error);
      for (const raw of page.data.servers) {
        const instance = toInstance(raw);
        // The host filter is exact on PostgreSQL and SQLite, not on MySQL's default collation: keep Nova's own spelling only.
        if (instance.host !== undefined && instance.host !== host) continue;
        byId.set(instance.id, instance);
      }
      if (byId.size > maxInstances) {
        throw new OpenStackError({
          code: 'TOO_MANY_INSTANCES',
          message: `Nova lists more than ${maxInstances} instances on ${host}; force-down reads at most ${maxInstances} for one host`,
          request,
          status: 200,
        });
      }
      const next = page.data.servers_links?.find((l) => l.rel === 'next');
      const last = page.data.servers.at(-1)?.id;
      // Nova links a next page whenever a page is full (its limit may be lower than ours); no link, or an empty page, is the end.
      if (!next || last === undefined) break;
      const nextMarker = markerOf(next.href) ?? last;
      if (markers.has(nextMarker)) {
        throw new OpenStackError({ code: 'NOVA_REJECTED', message: `Nova's pages of ${request} repeat (marker ${nextMarker} twice)`, request, status: 200 });
      }
      markers.add(nextMarker);
      marker = nextMarker;
    }
    return [...byId.values()];
  }

  async function evacuate(serverId: string, target?: string): Promise<EvacuationAccepted> {
    const microversion = evacuateMicroversion(await maxVersion(), opts.microversion);
    if (!microversion.ok) throw new OpenStackError({ ...microversion.failure, request: EVACUATE_REQUEST });
    const body = evacuateBody(microversion.value, target);
    if (!body.ok) throw new OpenStackError({ ...body.failure, request: EVACUATE_REQUEST });
    let res: HttpResponse;
    try {
      res = await sendToNova(session, http, {
        method: 'POST',
        path: `/servers/${encodeURIComponent(serverId)}/action`,
        microversion: microversion.value,
        json: body.value,
        request: EVACUATE_REQUEST,
        retry: false,
      });
    } catch (err) {
      if (err instanceof OpenStackError && err.failure.code === 'NOVA_UNAVAILABLE') {
        throw new OpenStackError(
          {
            ...err.failure,
            message: `${err.failure.message}; Nova may or may not have accepted the evacuation: read its migration records before asking again`,
          },
          { cause: err },
        );
      }
      throw err;
    }
    if (res.status !== 200 && res.status !== 202) throw new OpenStackError(classifyEvacuateError(res, target));
    // From 2.14 Nova's answer has no body (an admin password came back only below 2.14): nothing of it is kept.
    return { serverId, request: EVACUATE_REQUEST, microversion: microversion.value, body: body.value, status: res.status };
  }

  async function migrations(serverId: string): Promise<EvacuationMigration[]> {
    const microversion = serversMicroversion(await maxVersion(), opts.microversion);
    const request = 'GET /os-migrations';
    // Nova filters by migration_type at every microversion; from 2.23 each record also says its type, checked here too.
    const query = new URLSearchParams({ instance_uuid: serverId, migration_type: 'evacuation' });
    const res = await sendToNova(session, http, { method: 'GET', path: `/os-migrations?${query}`, microversion, request });
    if (res.status !== 200) throw new OpenStackError(classifyReadError(res, request, 'os_compute_api:os-migrations:index'));
    const page = migrationsPage.safeParse(res.body);
    if (!page.success) throw unreadable(request, page.error);
    const typed = microversion !== undefined && compareMicroversions(microversion, MIGRATION_TYPE_SHOWN_FROM) >= 0;
    return page.data.migrations
      .filter((m) => !m.instance_uuid || m.instance_uuid === serverId)
      .filter((m) => !typed || !m.migration_type || m.migration_type === 'evacuation')
      .map((m) => toMigration(m, serverId))
      .sort(newestFirst);
  }

  async function instanceFault(serverId: string): Promise<string | undefined> {
    const microversion = serversMicroversion(await maxVersion(), opts.microversion);
    const request = 'GET /servers/{id}';
    const res = await sendToNova(session, http, { method: 'GET', path: `/servers/${encodeURIComponent(serverId)}`, microversion, request });
    if (res.status !== 200) throw new OpenStackError(classifyReadError(res, request, 'os_compute_api:servers:show'));
    const shown = serverShown.safeParse(res.body);
    if (!shown.success) throw unreadable(request, shown.error);
    return shown.data.server.fault?.message?.trim() || undefined;
  }

  return {
    listServersOnHost: (host) => outcome(() => listOnHost(host)),
    instanceFault: (serverId) => outcome(() => instanceFault(serverId)),
    evacuate: (serverId, target) => outcome(() => evacuate(serverId, target)),
    evacuationMigrations: (serverId) => outcome(() => migrations(serverId)),
    evacuateMicroversion: () =>
      outcome(async () => {
        const v = evacuateMicroversion(await maxVersion(), opts.microversion);
        if (!v.ok) throw new OpenStackError(v.failure);
        return v.value;
      }),
  };
}

function markerOf(href: string | undefined): string | undefined {
  if (!href) return undefined;
  try {
    return new URL(href, 'http://x').searchParams.get('marker') ?? undefined;
  } catch {
    return undefined;
  }
}
