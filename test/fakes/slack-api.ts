import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small real Slack Web API on 127.0.0.1, answering as Slack does (HTTP 200
 * with `{ ok: false, error }` for API errors, 429 + `Retry-After` for rate
 * limits, and, opt-in, Slack's per-channel message rate), so tests drive the real `@slack/web-api` client (and Bolt's) through
 * `slackApiUrl: fake.apiUrl`. Also accepts `response_url` posts on
 * `/response/<anything>` (see {@link FakeSlackApi.responseUrl}).
 *
 * The web-api client sends `application/x-www-form-urlencoded` bodies in which
 * every non-scalar argument (`blocks`, `view`, `metadata`, …) is a JSON string,
 * and the token in `Authorization: Bearer …`. Bolt's `respond()` posts JSON to
 * the response_url. Both are accepted; recorded bodies have those JSON strings
 * parsed back into objects.
 */

export type SlackMethod = 'chat.postMessage' | 'chat.update' | 'chat.postEphemeral' | 'views.open' | 'views.update' | 'usergroups.users.list' | 'auth.test' | 'response_url';

export interface RecordedSlackCall {
  /** API method, or `response_url` for posts on `/response/…`. */
  method: string;
  /** The parsed body: form fields or JSON, with `blocks`, `view`, `attachments`, `metadata` parsed to objects. */
  body: Record<string, unknown>;
  /** `Date.now()` when the request arrived. */
  at: number;
  /** The request's Content-Type header, as sent. */
  contentType: string | undefined;
  /** The bearer token, when one was sent. */
  token: string | undefined;
  /** The request path (`/api/chat.postMessage`, `/response/abc`). */
  path: string;
  /** HTTP status the fake answered with. */
  status: number;
  /** `error` of an `{ ok: false }` answer (or `ratelimited` / `http_500` for injected faults). */
  error?: string;
}

/**
 * A fault for the next call of a method: HTTP 429 (with Retry-After seconds), another HTTP status, an API error,
 * or an answer held back `delayMs` (then given as usual; a client with a shorter timeout sees a timeout).
 */
export type SlackFault = { status: 429; retryAfter?: number } | { status: number } | { error: string } | { delayMs: number };

export interface StoredMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks?: unknown;
  threadTs?: string;
  /** How many chat.update calls changed it. */
  updates: number;
}

/**
 * Slack's per-channel limit on messages (opt-in): "about one message per
 * second per channel, short bursts allowed". A token bucket per channel: it
 * holds `burst` messages, refills one every `intervalMs`; a call that finds it
 * empty is answered HTTP 429 `{ ok: false, error: 'ratelimited' }` with
 * `Retry-After` (whole seconds, at least 1) and is not applied.
 */
export interface FakeSlackRateLimit {
  /** Refill: one message per this many ms. Default 1000. */
  intervalMs?: number;
  /** Messages allowed back to back on an idle channel. Default 1. */
  burst?: number;
  /** Methods limited, by the body's `channel`. Default chat.postMessage and chat.update. */
  methods?: string[];
}

export interface FakeSlackApiOptions {
  /** Tokens answered with `invalid_auth` (revoked, wrong workspace). */
  invalidTokens?: string[];
  /** Enforce Slack's per-channel message rate (default: no limit; faults only by {@link FakeSlackApi.failNext}). */
  rateLimit?: FakeSlackRateLimit;
  teamId?: string;
  botUserId?: string;
  botId?: string;
  /**
   * Members of user groups (id → user ids), answered by usergroups.users.list (opt-in: a group
   * not given here is answered `no_such_subteam`). Change later with {@link FakeSlackApi.setUsergroup}.
   */
  usergroups?: Record<string, readonly string[]>;
}

export interface FakeSlackApi {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `http://127.0.0.1:<port>/api/` — pass as `slackApiUrl` (WebClient option, or Bolt's `clientOptions`). */
  readonly apiUrl: string;
  readonly teamId: string;
  readonly botUserId: string;
  readonly botId: string;
  /** A response_url served by this fake: `http://127.0.0.1:<port>/response/<id>`. */
  responseUrl(id?: string): string;
  /** Every call (of `method`, when given), in arrival order, faults included. */
  calls(method?: string): RecordedSlackCall[];
  /** Resolves with the first call (already made or coming) of `method` matching `predicate`; rejects after `timeoutMs`. */
  waitFor(method: string, predicate?: (call: RecordedSlackCall) => boolean, timeoutMs?: number): Promise<RecordedSlackCall>;
  /** Turns the per-channel rate limit on (or, with undefined, off) from now on; buckets start full. */
  setRateLimit(limit: FakeSlackRateLimit | undefined): void;
  /** Makes the next call of `method` fail with `fault`. Queued: call twice to fail the next two. */
  failNext(method: string, fault: SlackFault): void;
  /** Sets (or, with undefined, removes) the members of user group `id` for usergroups.users.list. */
  setUsergroup(id: string, users: readonly string[] | undefined): void;
  /** From now on, answers `token` with `invalid_auth`. */
  invalidateToken(token: string): void;
  /** Undoes `invalidateToken` (or the `invalidTokens` option) for `token`. */
  restoreToken(token: string): void;
  /** The current state of a posted message (after chat.update calls), or undefined. */
  message(channel: string, ts: string): StoredMessage | undefined;
  /** Forgets calls, messages and pending faults. */
  reset(): void;
  close(): Promise<void>;
}

const JSON_FIELDS = ['blocks', 'attachments', 'view', 'metadata'];

function parseBody(raw: string, contentType: string | undefined): Record<string, unknown> {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  let body: Record<string, unknown> = {};
  if (type === 'application/json') {
    try {
      const parsed: unknown = JSON.parse(raw || '{}');
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
    } catch {
      body = {};
    }
  } else if (raw) {
    body = Object.fromEntries(new URLSearchParams(raw));
  }
  for (const key of JSON_FIELDS) {
    const value = body[key];
    if (typeof value === 'string') {
      try {
        body[key] = JSON.parse(value) as unknown;
      } catch {
        // Slack answers invalid_blocks / invalid_arguments; keep the string so the handler can say so.
      }
    }
  }
  return body;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

type Answer = Record<string, unknown> & { ok: boolean; error?: string };

export async function startFakeSlackApi(options: FakeSlackApiOptions = {}): Promise<FakeSlackApi> {
  const teamId = options.teamId ?? 'T0FAKE0001';
  const botUserId = options.botUserId ?? 'U0FAKEBOT1';
  const botId = options.botId ?? 'B0FAKEBOT1';
  const invalidTokens = new Set(options.invalidTokens ?? []);
  const recorded: RecordedSlackCall[] = [];
  const faults = new Map<string, SlackFault[]>();
  const messages = new Map<string, StoredMessage>();
  const waiters = new Set<(call: RecordedSlackCall) => void>();
  // Message ts look like Slack's: "<seconds>.<6-digit sequence>", unique per fake.
  const tsBase = Math.floor(Date.now() / 1000);
  let seq = 0;
  let viewSeq = 0;
  /** Views opened by views.open: views.update may replace them. */
  const openViews = new Set<string>();
  const nextTs = () => `${tsBase}.${String(++seq).padStart(6, '0')}`;
  let rateLimit = options.rateLimit;
  /** Per channel: tokens left at `at` (ms). */
  const buckets = new Map<string, { tokens: number; at: number }>();
  const usergroups = new Map<string, readonly string[]>(Object.entries(options.usergroups ?? {}));

  /** Takes a token for a limited call; returns the Retry-After seconds when there is none. */
  function rateLimited(method: string, body: Record<string, unknown>, at: number): number | undefined {
    if (!rateLimit) return undefined;
    const methods = rateLimit.methods ?? ['chat.postMessage', 'chat.update'];
    const channel = str(body.channel);
    if (!channel || !methods.includes(method)) return undefined;
    const interval = Math.max(1, rateLimit.intervalMs ?? 1000);
    const burst = Math.max(1, rateLimit.burst ?? 1);
    const bucket = buckets.get(channel) ?? { tokens: burst, at };
    bucket.tokens = Math.min(burst, bucket.tokens + (at - bucket.at) / interval);
    bucket.at = at;
    buckets.set(channel, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil(((1 - bucket.tokens) * interval) / 1000));
  }

  function record(call: RecordedSlackCall): void {
    recorded.push(call);
    for (const waiter of [...waiters]) waiter(call);
  }

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
      ...headers,
    });
    res.end(text);
  }

  const api: Record<string, (body: Record<string, unknown>) => Answer> = {
    'auth.test': () => ({
      ok: true,
      url: 'https://fake-workspace.slack.com/',
      team: 'Fake Workspace',
      user: 'force-down',
      team_id: teamId,
      user_id: botUserId,
      bot_id: botId,
      is_enterprise_install: false,
    }),
    'chat.postMessage': (body) => {
      const channel = str(body.channel);
      if (!channel) return { ok: false, error: 'channel_not_found' };
      if (!str(body.text) && !body.blocks && !body.attachments) return { ok: false, error: 'no_text' };
      if (body.blocks !== undefined && !Array.isArray(body.blocks)) return { ok: false, error: 'invalid_blocks' };
      const ts = nextTs();
      const threadTs = str(body.thread_ts);
      const stored: StoredMessage = { channel, ts, updates: 0 };
      if (str(body.text)) stored.text = str(body.text)!;
      if (body.blocks !== undefined) stored.blocks = body.blocks;
      if (threadTs) stored.threadTs = threadTs;
      messages.set(`${channel}/${ts}`, stored);
      return {
        ok: true,
        channel,
        ts,
        message: {
          type: 'message',
          subtype: 'bot_message',
          user: botUserId,
          bot_id: botId,
          team: teamId,
          ts,
          text: str(body.text) ?? '',
          ...(body.blocks !== undefined ? { blocks: body.blocks } : {}),
          ...(threadTs ? { thread_ts: threadTs } : {}),
        },
      };
    },
    'chat.update': (body) => {
      const channel = str(body.channel);
      const ts = str(body.ts);
      if (!channel) return { ok: false, error: 'channel_not_found' };
      if (!ts) return { ok: false, error: 'invalid_arguments' };
      const stored = messages.get(`${channel}/${ts}`);
      if (!stored) return { ok: false, error: 'message_not_found' };
      if (body.blocks !== undefined && !Array.isArray(body.blocks)) return { ok: false, error: 'invalid_blocks' };
      if (body.text !== undefined) stored.text = str(body.text) ?? '';
      if (body.blocks !== undefined) stored.blocks = body.blocks;
      stored.updates++;
      return {
        ok: true,
        channel,
        ts,
        text: stored.text ?? '',
        message: { type: 'message', user: botUserId, bot_id: botId, text: stored.text ?? '', ...(stored.blocks !== undefined ? { blocks: stored.blocks } : {}) },
      };
    },
    'chat.postEphemeral': (body) => {
      if (!str(body.channel)) return { ok: false, error: 'channel_not_found' };
      if (!str(body.user)) return { ok: false, error: 'user_not_in_channel' };
      if (!str(body.text) && !body.blocks && !body.attachments) return { ok: false, error: 'no_text' };
      return { ok: true, message_ts: nextTs() };
    },
    // views.update: a view opened by views.open (by `view_id`), replaced by `view` (Slack keeps what the user
    // typed into input blocks whose block_id and action_id stay the same); an unknown id → not_found.
    // usergroups.users.list: the members of one user group (scope usergroups:read); an unknown group → no_such_subteam.
    'usergroups.users.list': (body) => {
      const id = str(body.usergroup);
      if (!id) return { ok: false, error: 'invalid_arguments' };
      const users = usergroups.get(id);
      if (!users) return { ok: false, error: 'no_such_subteam' };
      return { ok: true, users: [...users] };
    },
    'views.update': (body) => {
      const id = str(body.view_id);
      if (!id || !openViews.has(id)) return { ok: false, error: 'not_found' };
      const view = body.view;
      if (!view || typeof view !== 'object') return { ok: false, error: 'invalid_arguments' };
      return { ok: true, view: { id, team_id: teamId, app_id: 'A0FAKEAPP1', bot_id: botId, root_view_id: id, hash: `${tsBase}.fakehash-updated`, state: { values: {} }, ...(view as Record<string, unknown>) } };
    },
    'views.open': (body) => {
      if (!str(body.trigger_id)) return { ok: false, error: 'invalid_arguments' };
      const view = body.view;
      if (!view || typeof view !== 'object') return { ok: false, error: 'invalid_arguments' };
      const id = `V0FAKE${String(++viewSeq).padStart(5, '0')}`;
      openViews.add(id);
      return {
        ok: true,
        view: {
          id,
          team_id: teamId,
          app_id: 'A0FAKEAPP1',
          bot_id: botId,
          app_installed_team_id: teamId,
          root_view_id: id,
          previous_view_id: null,
          external_id: '',
          hash: `${tsBase}.fakehash${viewSeq}`,
          state: { values: {} },
          clear_on_close: false,
          notify_on_close: false,
          private_metadata: '',
          callback_id: '',
          ...(view as Record<string, unknown>),
        },
      };
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const contentType = req.headers['content-type'];
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length).trim() : undefined;
    const body = req.method === 'GET' ? Object.fromEntries(url.searchParams) : parseBody(raw, contentType);

    const isResponseUrl = url.pathname.startsWith('/response/');
    const apiMatch = /^\/api\/([A-Za-z0-9_.]+)$/.exec(url.pathname);
    if (!isResponseUrl && !apiMatch) {
      send(res, 404, 'not found');
      return;
    }
    const method = isResponseUrl ? 'response_url' : apiMatch![1]!;
    const call: RecordedSlackCall = { method, body, at: Date.now(), contentType, token, path: url.pathname, status: 200 };

    let fault = faults.get(method)?.shift();
    if (fault && 'delayMs' in fault) {
      await new Promise((resolve) => setTimeout(resolve, (fault as { delayMs: number }).delayMs));
      fault = undefined;
    }
    if (fault) {
      if ('error' in fault) {
        record({ ...call, error: fault.error });
        if (isResponseUrl) send(res, 404, fault.error);
        else send(res, 200, { ok: false, error: fault.error });
      } else if (fault.status === 429) {
        const retryAfter = 'retryAfter' in fault && fault.retryAfter !== undefined ? fault.retryAfter : 1;
        record({ ...call, status: 429, error: 'ratelimited' });
        send(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(retryAfter) });
      } else {
        record({ ...call, status: fault.status, error: `http_${fault.status}` });
        send(res, fault.status, isResponseUrl ? 'fake failure' : { ok: false, error: 'fatal_error' });
      }
      return;
    }

    const retryAfter = isResponseUrl || !token ? undefined : rateLimited(method, body, call.at);
    if (retryAfter !== undefined) {
      record({ ...call, status: 429, error: 'ratelimited' });
      send(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(retryAfter) });
      return;
    }

    if (isResponseUrl) {
      // Slack answers a response_url post with a plain "ok" (no token needed: the URL is the credential).
      record(call);
      send(res, 200, 'ok');
      return;
    }

    let answer: Answer;
    if (!token) answer = { ok: false, error: 'not_authed' };
    else if (invalidTokens.has(token) || !token.startsWith('xoxb-')) answer = { ok: false, error: 'invalid_auth' };
    else answer = api[method]?.(body) ?? { ok: false, error: 'unknown_method', req_method: method };
    record(answer.ok ? call : { ...call, error: answer.error ?? 'unknown' });
    send(res, 200, answer);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 500, String(err)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  let responseSeq = 0;

  return {
    url: base,
    apiUrl: `${base}/api/`,
    teamId,
    botUserId,
    botId,
    responseUrl: (id) => `${base}/response/${id ?? `T0FAKE/${++responseSeq}/fake`}`,
    calls: (method) => recorded.filter((c) => method === undefined || c.method === method),
    waitFor(method, predicate = () => true, timeoutMs = 60_000) {
      const seen = recorded.find((c) => c.method === method && predicate(c));
      if (seen) return Promise.resolve(seen);
      return new Promise<RecordedSlackCall>((resolve, reject) => {
        const waiter = (c: RecordedSlackCall) => {
          if (c.method === method && predicate(c)) {
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve(c);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const got = recorded.map((c) => c.method).join(', ') || 'none';
          reject(new Error(`fake Slack: no matching ${method} call within ${timeoutMs} ms (calls so far: ${got})`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    setRateLimit(limit) {
      rateLimit = limit;
      buckets.clear();
    },
    failNext(method, fault) {
      const queue = faults.get(method) ?? [];
      queue.push(fault);
      faults.set(method, queue);
    },
    setUsergroup: (id, users) => void (users ? usergroups.set(id, users) : usergroups.delete(id)),
    invalidateToken: (token) => void invalidTokens.add(token),
    restoreToken: (token) => void invalidTokens.delete(token),
    message: (channel, ts) => messages.get(`${channel}/${ts}`),
    reset() {
      recorded.length = 0;
      faults.clear();
      messages.clear();
      buckets.clear();
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
