// A worker killed mid-job (issue 6): the rule (src/app/recovery.ts) with fakes, then for real:
// the local bot as a child process, kill -9 while Nova's PUT hangs at the fault proxy, restart on
// the same SQLite file, and the request is settled and reported in the (fake) Slack channel.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebClient } from '@slack/web-api';
import type { AppDeps } from '../../src/app/ports.js';
import { recoverStaleExecuting, STALE_EXECUTING_MS, WORKER_STOPPED_DETAIL } from '../../src/app/recovery.js';
import { runJob } from '../../src/app/worker.js';
import type { Failure } from '../../src/domain/failure.js';
import type { Action, ForceDownRequest } from '../../src/domain/request.js';
import { defaultHttpSettings } from '../../src/openstack/http.js';
import { createSqliteStore } from '../../src/store/sqlite.js';
import { startFaultyOpenStack, type FaultyOpenStack } from '../fakes/fault-proxy.js';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { createNovaProbe, loadLab, type Lab } from '../integration/lab.js';
import { localBotFiles } from '../integration/local-bot-env.js';
import { EVENT_DEADLINE_MS, until } from '../integration/wait.js';
import { buttonsOf, user } from '../integration/slack-helpers.js';
import { startChildBot, type ChildBot } from './child-bot.js';
import { captureLog, textOf, through } from './harness.js';
import { createSlackFlow } from './slack-flow.js';
import { fakeNova, setup as bench, svc } from '../unit/app/harness.js';

describe('the recovery rule (fakes)', () => {
  function setup(opts: { forcedDown?: boolean; readFailure?: Failure; beforeRead?: (host: string) => Promise<void> } = {}) {
    const capture = captureLog();
    // The real cards and notifier over a recording Slack client: what reached Slack.
    const slackCalls: { method: string; channel: string; ts?: string; thread_ts?: string }[] = [];
    let seq = 0;
    const client = {
      chat: {
        postMessage: async (a: { channel: string; thread_ts?: string }) => (
          slackCalls.push({ method: 'chat.postMessage', channel: a.channel, ...(a.thread_ts ? { thread_ts: a.thread_ts } : {}) }), { ok: true, ts: `9.${String(++seq).padStart(6, '0')}` }
        ),
        update: async (a: { channel: string; ts: string }) => (slackCalls.push({ method: 'chat.update', channel: a.channel, ts: a.ts }), { ok: true }),
      },
      views: {},
    } as unknown as Pick<WebClient, 'chat' | 'views'>;
    const nova = fakeNova({}, {
      readOnly: 'recovery must never call setForcedDown',
      ...(opts.readFailure ? { readFailure: opts.readFailure } : {}),
      ...(opts.beforeRead ? { beforeRead: opts.beforeRead } : {}),
    });
    const t = bench(
      { policy: { approverUsers: new Set(['UAPPROVER']), approverGroups: new Set(), twoPerson: false }, allowedChannels: new Set(), log: capture.log },
      { nova, cloud: 'lab', slack: { client } },
    );
    const { deps } = t;
    /** A request that entered `executing` at the current time (a row of grouped card `group`, if given). */
    async function executing(host: string, action: Action = 'force-down', group?: string): Promise<ForceDownRequest> {
      const at = new Date(t.now()).toISOString();
      const r: ForceDownRequest = {
        id: deps.newId(), cloud: 'lab', host, binary: 'nova-compute', action, state: 'pending', origin: { kind: 'slash', userId: 'UREQ', channelId: 'C1' },
        requestedBy: 'UREQ', channel: 'C1', messageTs: '1.000001', createdAt: at, updatedAt: at, expiresAt: new Date(t.now() + deps.ttlMs).toISOString(), history: [{ state: 'pending', at }],
        ...(group ? { group } : {}),
      };
      nova.hosts[host] = svc(host, { state: 'up', forcedDown: opts.forcedDown ?? false });
      await deps.store.create(r);
      if (group) await deps.store.createGroup({ id: group, channel: 'C1', title: 'HostDown', createdAt: at, members: [r.id], messages: ['1.000001'] });
      await deps.store.transition(r.id, ['pending'], 'approved', at, { confirmation: { by: 'UAPPROVER', at, method: 'bmc' } }, 'UAPPROVER');
      const res = await deps.store.transition(r.id, ['approved'], 'executing', at);
      if (!res.ok) throw new Error('setup');
      return res.request;
    }
    return { deps, renders: t.renders, slackCalls, audits: t.audits, log: capture, executing, advance: t.advance, now: t.now };
  }

  it('the bound is over twice the worst case of one force-down with the default HTTP settings', () => {
    const s = defaultHttpSettings;
    const attempts = s.retries + 1;
    const backoff = Array.from({ length: s.retries }, (_, i) => Math.min(s.retryMaxDelayMs, s.retryBaseDelayMs * 2 ** i)).reduce((a, b) => a + b, 0);
    const perCall = attempts * (s.connectTimeoutMs + s.headersTimeoutMs + s.bodyTimeoutMs) + backoff;
    // Keystone token; version document and lookup together; the PUT.
    expect(STALE_EXECUTING_MS).toBeGreaterThanOrEqual(2 * 3 * perCall);
    expect(STALE_EXECUTING_MS).toBeLessThanOrEqual(15 * 60_000); // ≤ a Lambda's maximum run time: the card is settled soon after
  });

  it('leaves a request executing for less than the bound alone; the sweep settles it once the bound has passed', async () => {
    const t = setup({ forcedDown: false });
    const r = await t.executing('fault1');
    t.advance(STALE_EXECUTING_MS - 1_000);
    await runJob(t.deps, { kind: 'sweep' });
    expect((await t.deps.store.get(r.id))?.state).toBe('executing');

    t.advance(2_000);
    await runJob(t.deps, { kind: 'sweep' });
    const after = (await t.deps.store.get(r.id))!;
    expect(after).toMatchObject({ state: 'failed', outcome: { code: 'NOVA_UNAVAILABLE', detail: WORKER_STOPPED_DETAIL } });
    expect(after.outcome?.message).toContain('confirm again to retry');
    expect(t.renders.at(-1)).toMatchObject({ id: r.id, state: 'failed' });
    expect(t.audits.at(-1)?.entry).toMatchObject({ state: 'failed' });
    expect(t.log.entries()).toContainEqual(expect.objectContaining({ level: 'warn', message: 'recovered a request left executing', requestId: r.id, outcome: 'NOVA_UNAVAILABLE' }));
  });

  it.each([
    ['force-down', true, 'succeeded', 'OK'],
    ['force-down', false, 'failed', 'NOVA_UNAVAILABLE'],
    ['unset', false, 'succeeded', 'OK'],
    ['unset', true, 'failed', 'NOVA_UNAVAILABLE'],
  ] as const)('%s, Nova shows forced_down=%s: %s (%s)', async (action, forcedDown, state, code) => {
    const t = setup({ forcedDown });
    const r = await t.executing('fault1', action);
    t.advance(STALE_EXECUTING_MS + 1);
    expect(await recoverStaleExecuting(t.deps)).toBe(1);
    expect(await t.deps.store.get(r.id)).toMatchObject({ state, outcome: { code } });
    expect(t.renders).toHaveLength(1);
  });

  it('Nova cannot be read: failed with the lookup\'s code, and the card says check then retry', async () => {
    const t = setup({ readFailure: { code: 'KEYSTONE_UNAVAILABLE', message: 'Keystone did not answer' } });
    const r = await t.executing('fault1');
    t.advance(STALE_EXECUTING_MS + 1);
    await recoverStaleExecuting(t.deps);
    const after = (await t.deps.store.get(r.id))!;
    expect(after).toMatchObject({ state: 'failed', outcome: { code: 'KEYSTONE_UNAVAILABLE', detail: WORKER_STOPPED_DETAIL } });
    expect(after.outcome?.message).toContain('check the host in Nova, then confirm again to retry');
  });

  it('orphanedBefore (the local bot after a restart): recent requests of the previous process are settled at once', async () => {
    const t = setup({ forcedDown: true });
    const old = await t.executing('fault1');
    t.advance(5_000);
    const restartedAt = t.now();
    const current = await t.executing('fault2'); // this process's own job, still running
    t.advance(1_000);
    expect(await recoverStaleExecuting(t.deps, { orphanedBefore: restartedAt })).toBe(1);
    expect((await t.deps.store.get(old.id))?.state).toBe('succeeded');
    expect((await t.deps.store.get(current.id))?.state).toBe('executing');
  });

  it('a worker that was only slow and answers during the sweep keeps its outcome; the sweep changes nothing', async () => {
    let deps: AppDeps | undefined;
    let id = '';
    const t = setup({
      beforeRead: async () => {
        // The live worker records Nova's answer while the sweep reads Nova.
        await deps!.store.transition(id, ['executing'], 'succeeded', new Date().toISOString(), { outcome: { code: 'OK', message: 'forced down' } });
      },
    });
    deps = t.deps;
    id = (await t.executing('fault1')).id;
    t.advance(STALE_EXECUTING_MS + 1);
    expect(await recoverStaleExecuting(t.deps)).toBe(0);
    expect(await t.deps.store.get(id)).toMatchObject({ state: 'succeeded', outcome: { code: 'OK' } });
    expect(t.renders).toEqual([]);
  });

  it('a row of a grouped card (alert storm): the group\'s message is updated, not replaced by a single card', async () => {
    const t = setup({ forcedDown: true });
    const r = await t.executing('fault1', 'force-down', 'g-1');
    t.advance(STALE_EXECUTING_MS + 1);
    expect(await recoverStaleExecuting(t.deps)).toBe(1);
    expect(await t.deps.store.get(r.id)).toMatchObject({ state: 'succeeded' });
    // The group's message (its first page, every member's card) updated in place; no card of its own posted.
    expect(t.slackCalls.filter((c) => !c.thread_ts)).toEqual([{ method: 'chat.update', channel: 'C1', ts: '1.000001' }]);
  });

  it('two sweeps at once settle a request once', async () => {
    const t = setup({ forcedDown: false });
    const r = await t.executing('fault1');
    t.advance(STALE_EXECUTING_MS + 1);
    const counts = await Promise.all([recoverStaleExecuting(t.deps), recoverStaleExecuting(t.deps)]);
    expect(counts.sort()).toEqual([0, 1]);
    expect((await t.deps.store.get(r.id))!.history.filter((h) => h.state === 'failed')).toHaveLength(1);
  });
});

describe('kill -9 of the local bot between `executing` and Nova\'s answer (real process, SQLite, lab)', () => {
  const SIGNING = `crash-signing-${randomBytes(8).toString('hex')}`;
  const CHANNEL = { id: 'C0ONCALL01', name: 'oncall' };
  const REQUESTER = user('U0REQUEST1', 'alice');
  const APPROVER = user('U0APPROVE1', 'bob');
  const PUT_BY_ID = /\/os-services\/[0-9a-f-]{36}$/;

  let lab: Lab;
  let probe: ReturnType<typeof createNovaProbe>;
  let os: FaultyOpenStack;
  let slack: FakeSlackApi;
  const dirs: string[] = [];
  const bots: ChildBot[] = [];

  beforeAll(async () => {
    lab = loadLab();
    probe = createNovaProbe(lab);
    os = await startFaultyOpenStack({ keystone: lab.keystone, nova: lab.nova });
    slack = await startFakeSlackApi();
  });
  afterEach(async () => {
    os.clearFaults();
    await Promise.all(bots.splice(0).map((b) => b.close()));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    os.reset();
    slack.reset();
    for (const h of lab.hosts.fault) await probe.reset(h);
  });
  afterAll(async () => {
    await os?.close();
    await slack?.close();
  });

  function environment() {
    const dir = mkdtempSync(join(tmpdir(), 'fd-crash-'));
    dirs.push(dir);
    const { db, env } = localBotFiles(dir, {
      secret: { slack: { signingSecret: SIGNING, botToken: 'xoxb-crash' }, clouds: { lab: through(lab.clouds.admin, os.authUrl) } },
      slackApiUrl: slack.apiUrl,
      approvers: APPROVER.id,
      channel: CHANNEL.id,
    });
    return {
      db,
      env: {
        ...env,
        // fault1..4 are reset between tests (PUT forced_down=false), which moves the updated_at the
        // heartbeat watch reads: with the default wait (20 s) it would wait that reset out before each
        // force-down. The watch is not what this suite is about (test/integration/trust-e2e.test.ts).
        FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '0',
      },
    };
  }

  async function start(env: Record<string, string>, db: string) {
    const bot = await startChildBot(env);
    bots.push(bot);
    return { bot, flow: createSlackFlow({ slack, url: () => bot.url, signingSecret: SIGNING, db }) };
  }

  const card = (ts: string) => slack.message(CHANNEL.id, ts);

  it.each([
    {
      what: 'the PUT never reached Nova: the restarted bot marks the request failed ("worker stopped before Nova answered") and a new confirmation retries it',
      fault: 'hang' as const,
      host: 2,
      state: 'failed',
    },
    {
      what: 'Nova applied the PUT but its answer never came back: the restarted bot sees forced_down and marks the request succeeded',
      fault: 'forward-then-hang' as const,
      host: 3,
      state: 'succeeded',
    },
  ])('$what', async ({ fault, host: i, state }) => {
    const host = lab.hosts.fault[i]!;
    const { env, db } = environment();
    const first = await start(env, db);
    os.nova.inject({ method: 'PUT', path: PUT_BY_ID, fault: { kind: fault } });

    expect(await first.flow.slash(host, REQUESTER)).toMatchObject({ status: 200, body: '' });
    const { requestId, cardTs } = await first.flow.cardOf(host);
    expect(await first.flow.confirmOnCard(requestId, cardTs, APPROVER)).toMatchObject({ status: 200, body: '' });
    // The worker is inside Nova's call: its PUT has reached the proxy (and, for forward-then-hang,
    // gone on to Nova). Kill only once the event the case is about has happened: Nova's own record
    // shows the PUT applied. The proxy seeing the PUT is not enough: under load Nova may not have
    // committed it yet when the bot dies.
    await os.nova.waitFor('PUT', PUT_BY_ID, EVENT_DEADLINE_MS);
    if (fault === 'forward-then-hang') await until(`Nova to show ${host} forced_down=true`, async () => (await probe.service(host)).forced_down);
    // The "⏳ forcing down…" card update goes out alongside the Nova call, not before it: wait for it
    // too (the worker stays inside the hung call for 3 × 10 s before it would give up).
    await until('the card to say "⏳ forcing down…"', () => textOf(card(cardTs)?.blocks).includes('⏳ forcing down…'));
    await first.bot.kill9();

    // What the crash left: a request in `executing`, its card saying "⏳ forcing down…".
    const peek = createSqliteStore({ path: db });
    expect(await peek.get(requestId)).toMatchObject({ state: 'executing' });
    peek.close();
    expect(textOf(card(cardTs)?.blocks)).toContain('⏳ forcing down…');
    expect((await probe.service(host)).forced_down).toBe(fault === 'forward-then-hang');

    os.clearFaults();
    const updatesBefore = slack.calls('chat.update').length;
    const second = await start(env, db); // same SQLite file
    await second.bot.waitForLog((e) => e.message === 'recovered a request left executing' && e.requestId === requestId, EVENT_DEADLINE_MS);
    await slack.waitFor('chat.update', (c) => c.body.ts === cardTs && slack.calls('chat.update').indexOf(c) >= updatesBefore, EVENT_DEADLINE_MS);
    await second.bot.idle();

    const text = textOf(card(cardTs)?.blocks);
    const thread = slack.calls('chat.postMessage').filter((c) => c.body.thread_ts === cardTs).map((c) => String(c.body.text));
    if (state === 'failed') {
      expect(text).toContain(`❌ Nova's API did not answer; *${host}* is not forced down`);
      expect(buttonsOf(card(cardTs)?.blocks).map((b) => b.text?.text)).toEqual(['Retry…', 'Cancel']);
      expect(thread.at(-1)).toContain(WORKER_STOPPED_DETAIL);
      expect(await probe.service(host)).toMatchObject({ forced_down: false });

      // Retry… on the same card (a new confirmation): the new process runs it to the end.
      expect(await second.flow.confirmOnCard(requestId, cardTs, APPROVER)).toMatchObject({ status: 200, body: '' });
      await second.bot.idle();
      expect(textOf(card(cardTs)?.blocks)).toContain(`✅ *${host}* is forced down in Nova`);
      expect(await probe.service(host)).toMatchObject({ forced_down: true });
    } else {
      expect(text).toContain(`✅ *${host}* is forced down in Nova`);
      expect(thread.at(-1)).toMatch(/forced down · Nova: `GET \/os-services` → \*OK\*/);
      expect(await probe.service(host)).toMatchObject({ forced_down: true });
    }
    await second.bot.close();
    const after = createSqliteStore({ path: db });
    const stored = (await after.get(requestId))!;
    after.close();
    // Settled by the recovery (and, for the failed one, then retried to success): never left executing.
    expect(stored.history.map((h) => h.state)).toEqual(
      state === 'failed' ? ['pending', 'approved', 'executing', 'failed', 'approved', 'executing', 'succeeded'] : ['pending', 'approved', 'executing', 'succeeded'],
    );
  });
});
