// Abuse of the local bot's front door from outside its process (issue #11: 1 and 2). The local bot
// (`npm start`'s startLocalBot, SQLite, in-process worker) runs as a child process; this test is
// the attacker, on 127.0.0.1 only, with a bounded number of sockets and bytes:
//
// - thousands of idle sockets (headers sent, never finished) against a bot whose descriptor limit
//   they exceed, while an approver's confirmed force-down of fault1 reaches Nova and its card says
//   ✅, though Slack also fails the outcome's card update twice (the lab's Nova; a fake Slack);
// - 1,000 slow uploads to POST /nope and to POST /slack/events: the bot's RSS stays bounded and
//   comes back after the attack.
//
// No timing is asserted: waits are on events, with generous deadlines.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMITS } from '../../src/runtime/router.js';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { createNovaProbe, loadLab, type Lab } from '../integration/lab.js';
import { localBotFiles } from '../integration/local-bot-env.js';
import { user } from '../integration/slack-helpers.js';
import { until } from '../integration/wait.js';
import { startChildBot, type ChildBot } from './child-bot.js';
import { textOf } from './harness.js';
import { createSlackFlow, FLOW_CHANNEL } from './slack-flow.js';

const SIGNING = `abuse-signing-${randomBytes(8).toString('hex')}`;
const ALERT_TOKEN = `abuse-am-token-${randomBytes(8).toString('hex')}`;
const REQUESTER = user('U0REQUEST1', 'alice');
const APPROVER = user('U0APPROVE1', 'bob');
const MiB = 1024 * 1024;

/** The child's resident set (VmRSS), in MiB. */
const rssMiB = (pid: number) => Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
/** Descriptors the child holds now. */
const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

/**
 * The child's memory once what an attack left is collectable (a full GC, then another once the
 * buffers the first let go are freed): its RSS, and what it still holds (V8 heap in use and
 * buffers outside it), in MiB.
 */
async function settledMemory(bot: ChildBot): Promise<{ rss: number; held: number }> {
  await bot.memory();
  await new Promise((r) => setTimeout(r, 1_000));
  const m = await bot.memory();
  return { rss: rssMiB(bot.pid), held: (m.heapUsed + m.external) / MiB };
}

/**
 * Keeps up to `concurrent` sockets open to `port`, each having sent the start of a request and
 * never its end (`GET /healthz`, headers unfinished). A socket the server closes is opened again
 * after `reopenAfterMs`, until `maxOpens` sockets have been opened in all or `stop()`.
 */
function idleSocketAttack(opts: { port: number; concurrent: number; maxOpens: number; reopenAfterMs: number }) {
  const open = new Set<Socket>();
  let opened = 0;
  let closedByServer = 0;
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const one = () => {
    if (stopped || opened >= opts.maxOpens) return;
    opened++;
    const s = connect(opts.port, '127.0.0.1');
    open.add(s);
    s.on('connect', () => s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: idle\r\n'));
    s.on('error', () => undefined);
    s.on('close', () => {
      open.delete(s);
      if (stopped) return;
      closedByServer++;
      const t = setTimeout(() => (timers.delete(t), one()), opts.reopenAfterMs);
      timers.add(t);
    });
  };
  for (let i = 0; i < opts.concurrent; i++) one();
  return {
    opened: () => opened,
    open: () => open.size,
    closedByServer: () => closedByServer,
    stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      for (const s of open) s.destroy();
    },
  };
}

/**
 * `count` uploads at once: each sends `head(i)` (declaring its body), then `chunkBytes` per round,
 * a round every `everyMs`, until it has sent `bodyBytes` or the server has answered or closed it.
 * Resolves when every upload is over, with the statuses the server answered (0: closed without one).
 */
async function slowUploads(opts: { port: number; count: number; head: (i: number) => string; bodyBytes: number; chunkBytes: number; everyMs: number; during?: () => void }) {
  const uploads = await Promise.all(
    Array.from({ length: opts.count }, (_, i) => {
      return new Promise<{ socket: Socket; sent: number; answer: string; done: Promise<void>; over: boolean }>((resolve) => {
        const socket = connect(opts.port, '127.0.0.1');
        socket.setEncoding('latin1');
        const u = { socket, sent: 0, answer: '', over: false, done: Promise.resolve() };
        u.done = new Promise<void>((r) => socket.once('close', () => ((u.over = true), r())));
        socket.on('data', (c: string) => (u.answer += c));
        socket.on('error', () => undefined);
        socket.once('connect', () => {
          socket.write(opts.head(i));
          resolve(u);
        });
        socket.once('error', () => resolve(u));
      });
    }),
  );
  const chunk = Buffer.alloc(opts.chunkBytes, 'a');
  // Rounds until every upload has sent its whole body or is over (bounded: bodyBytes / chunkBytes rounds).
  for (let round = 0; round * opts.chunkBytes < opts.bodyBytes; round++) {
    for (const u of uploads) {
      if (u.over || u.answer !== '' || u.sent >= opts.bodyBytes) continue;
      const n = Math.min(opts.chunkBytes, opts.bodyBytes - u.sent);
      u.socket.write(n === chunk.length ? chunk : chunk.subarray(0, n));
      u.sent += n;
    }
    opts.during?.();
    if (uploads.every((u) => u.over || u.answer !== '')) break;
    await new Promise((r) => setTimeout(r, opts.everyMs));
  }
  // A body sent whole is answered (401: its signature is made up); then the server closes or we do.
  await until('every upload to be answered or closed', () => uploads.every((u) => u.over || /^HTTP\/1\.1 \d{3}/.test(u.answer)), { everyMs: 200 });
  opts.during?.();
  for (const u of uploads) u.socket.destroy();
  await Promise.all(uploads.map((u) => u.done));
  const statuses = new Map<number, number>();
  for (const u of uploads) {
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(u.answer)?.[1] ?? 0);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }
  return { statuses, sent: uploads.reduce((a, u) => a + u.sent, 0) };
}

describe('the local bot\'s front door under abuse (real process, lab, fake Slack)', () => {
  let lab: Lab;
  let probe: ReturnType<typeof createNovaProbe>;
  let slack: FakeSlackApi;
  const dirs: string[] = [];
  const bots: ChildBot[] = [];
  const stops: (() => void)[] = [];

  beforeAll(async () => {
    lab = loadLab();
    probe = createNovaProbe(lab);
    slack = await startFakeSlackApi();
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) stop();
    await Promise.all(bots.splice(0).map((b) => b.close()));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    slack.reset();
    await probe.reset('fault1');
  });
  afterAll(async () => {
    await slack?.close();
  });

  function environment(extra: Record<string, string> = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'fd-abuse-'));
    dirs.push(dir);
    const { db, env } = localBotFiles(dir, {
      secret: { slack: { signingSecret: SIGNING, botToken: 'xoxb-abuse' }, alerts: { alertmanager: { token: ALERT_TOKEN } }, clouds: { lab: lab.clouds.admin } },
      slackApiUrl: slack.apiUrl,
      approvers: APPROVER.id,
      channel: FLOW_CHANNEL.id,
    });
    return { db, env: { ...env, ...extra } };
  }

  it('2,600 idle sockets against a bot limited to 2,048 descriptors: a confirmed force-down of fault1 reaches Nova, and its card says ✅ though Slack failed the update twice', async () => {
    const OPEN_FILES = 2048;
    const CAP = OPEN_FILES / 4; // the default cap: a quarter of the descriptor limit (under 1,000)
    const { env, db } = environment({ FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '0' });
    const bot = await startChildBot(env, { openFiles: OPEN_FILES });
    bots.push(bot);
    const port = Number(new URL(bot.url).port);
    // Slack's requests each on a new connection: the bot closes the oldest idle ones at the cap, and a
    // POST on a pooled socket closed under it would be lost by any client (none resends a POST).
    const flow = createSlackFlow({ slack, url: () => bot.url, signingSecret: SIGNING, db, freshConnections: true });
    expect(readFileSync(`/proc/${bot.pid}/limits`, 'utf8')).toMatch(new RegExp(`^Max open files\\s+${OPEN_FILES}\\s+${OPEN_FILES}\\s`, 'm'));
    const fdsBefore = fds(bot.pid);

    // More idle sockets than the bot has descriptors; each one the bot closes comes back a second later.
    const attack = idleSocketAttack({ port, concurrent: 2600, maxOpens: 40_000, reopenAfterMs: 1_000 });
    stops.push(() => attack.stop());
    let fdsMax = fdsBefore;
    const sample = setInterval(() => (fdsMax = Math.max(fdsMax, fds(bot.pid))), 100);
    stops.push(() => clearInterval(sample));
    await until('all 2,600 idle sockets to be opened', () => attack.opened() >= 2600);
    await bot.waitForLog((e) => e.message === 'inbound connections at the cap');

    // The request, its card, the approver's confirmation: all through the same front door.
    expect(await flow.slash('fault1', REQUESTER)).toMatchObject({ status: 200 });
    const { requestId, cardTs } = await flow.cardOf('fault1');
    // Slack fails the next three card updates: the progress one (⏳, best effort) and the outcome's first two tries.
    for (let i = 0; i < 3; i++) slack.failNext('chat.update', { error: 'internal_error' });
    expect(await flow.confirmOnCard(requestId, cardTs, APPROVER)).toMatchObject({ status: 200, body: '' });

    await until('the card to show the outcome', () => textOf(flow.card(cardTs)?.blocks).includes('✅'));
    const pressure = { open: attack.open(), opened: attack.opened(), closedByServer: attack.closedByServer() };
    attack.stop();
    clearInterval(sample);

    expect(textOf(flow.card(cardTs)?.blocks)).toContain('fault1');
    expect((await probe.service('fault1')).forced_down).toBe(true);
    expect(bot.entries().filter((e) => e.message === 'outcome card update failed; retrying').length).toBeGreaterThanOrEqual(1);
    // The bot kept its descriptors for Nova, Keystone, Slack and SQLite: no call failed for want of one.
    const trouble = [...bot.lines, bot.stderr()].filter((l) => /EMFILE|ENFILE|NOVA_UNAVAILABLE|KEYSTONE_UNAVAILABLE|job failed/.test(l));
    expect(trouble).toEqual([]);
    expect(fdsMax).toBeLessThan(OPEN_FILES);
    expect(fdsMax).toBeLessThanOrEqual(fdsBefore + CAP + 100);
    expect(pressure.closedByServer).toBeGreaterThan(2600 - CAP);
    console.log(
      `idle sockets: ${pressure.opened} opened (up to 2,600 at once), ${pressure.closedByServer} closed by the bot; ` +
        `bot descriptors ${fdsBefore} before, at most ${fdsMax} during (limit ${OPEN_FILES}, connection cap ${CAP}); fault1 forced down, card ✅`,
    );
  });

  it('1,000 slow uploads of 1 MiB − 1 byte to POST /nope, then twice 1,000 of 512 KiB to POST /slack/events: RSS stays bounded, the memory comes back', async () => {
    // A cap above the 1,000 uploads, so that what bounds memory here is the bytes, not the connections.
    const { env } = environment({ FORCE_DOWN_MAX_CONNECTIONS: '2000' });
    const bot = await startChildBot(env);
    bots.push(bot);
    const port = Number(new URL(bot.url).port);
    expect((await fetch(`${bot.url}/healthz`)).status).toBe(200);
    const base = await settledMemory(bot);
    const baseline = base.rss;

    let peak = baseline;
    const during = () => void (peak = Math.max(peak, rssMiB(bot.pid)));
    const sample = setInterval(during, 50);
    stops.push(() => clearInterval(sample));

    // 1) An unknown path: 404 at once, the body never read.
    const nope = await slowUploads({
      port,
      count: 1000,
      head: () => `POST /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: ${MiB - 1}\r\n\r\n`,
      bodyBytes: MiB - 1,
      chunkBytes: 16 * 1024,
      everyMs: 250,
      during,
    });
    const peakNope = peak;
    const afterNope = await settledMemory(bot);

    // 2) A real route with fresh (made-up) signature headers: read up to its limit, within the bytes all connections may hold. Twice.
    const ts = () => String(Math.floor(Date.now() / 1000));
    const slackAttack = () => slowUploads({
      port,
      count: 1000,
      head: () =>
        `POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
        `X-Slack-Request-Timestamp: ${ts()}\r\nX-Slack-Signature: v0=${'0'.repeat(64)}\r\nContent-Length: ${BODY_LIMITS.slack}\r\n\r\n`,
      bodyBytes: BODY_LIMITS.slack,
      chunkBytes: 16 * 1024,
      everyMs: 250,
      during,
    });
    const rounds: { peak: number; after: { rss: number; held: number }; statuses: Map<number, number>; sent: number }[] = [];
    for (let i = 0; i < 2; i++) {
      peak = rssMiB(bot.pid);
      const res = await slackAttack();
      await until('the bot to hold no attack connection', async () => fds(bot.pid) < 200);
      rounds.push({ peak, after: await settledMemory(bot), statuses: res.statuses, sent: res.sent });
    }
    clearInterval(sample);

    const f = (n: number) => n.toFixed(0);
    console.log(
      `memory (MiB): baseline RSS ${f(baseline)} (held ${f(base.held)}); ` +
        `1,000 uploads to /nope: peak ${f(peakNope)}, after ${f(afterNope.rss)} (held ${f(afterNope.held)}; ${JSON.stringify(Object.fromEntries(nope.statuses))}, ${f(nope.sent / MiB)} MiB sent); ` +
        rounds
          .map((r, i) => `1,000 uploads to /slack/events #${i + 1}: peak ${f(r.peak)}, after ${f(r.after.rss)} (held ${f(r.after.held)}; ${JSON.stringify(Object.fromEntries(r.statuses))}, ${f(r.sent / MiB)} MiB sent)`)
          .join('; '),
    );
    // Every upload to /nope was answered 404 without its body being read.
    expect(nope.statuses.get(404)).toBe(1000);
    expect(nope.sent).toBeLessThan(1000 * MiB * 0.1);
    // Every upload to the real route was answered: 503 beyond the bytes in flight, else 401 (a made-up signature).
    for (const r of rounds) {
      expect([...r.statuses.keys()].every((s) => s === 503 || s === 401)).toBe(true);
      expect(r.statuses.get(503)).toBeGreaterThan(0);
    }
    // Bounded during the attack.
    expect(peakNope).toBeLessThan(baseline + 150);
    for (const r of rounds) expect(r.peak).toBeLessThan(baseline + 150);
    // After: the process holds what it held before (the request data is gone); its RSS keeps only
    // the allocator's freed pages, which the next attack reuses rather than adds to.
    for (const after of [afterNope, ...rounds.map((r) => r.after)]) {
      expect(after.held).toBeLessThan(base.held + 16);
      expect(after.rss).toBeLessThan(baseline + 100);
    }
    expect(rounds[1]!.after.rss).toBeLessThan(rounds[0]!.after.rss + 40);
    // The bot still serves.
    expect((await fetch(`${bot.url}/healthz`)).status).toBe(200);
  });

  it('a chunked body to an alert webhook (with its token) is cut at the route\'s limit: 413 before it ends, the connection closed', async () => {
    const { env } = environment();
    const bot = await startChildBot(env);
    bots.push(bot);
    const port = Number(new URL(bot.url).port);
    const socket = connect(port, '127.0.0.1');
    socket.setEncoding('latin1');
    let answer = '';
    socket.on('data', (c: string) => (answer += c));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(`POST /alerts/alertmanager HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ALERT_TOKEN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const piece = `4000\r\n${'['.repeat(0x4000)}\r\n`;
    let sent = 0;
    let over = false;
    void closed.then(() => (over = true));
    // 16 KiB at a time, each written out before the next, until the bot answers (bounded: 2 MiB);
    // the body's last chunk never comes, so only counting as it arrives can answer it.
    while (!over && answer === '' && sent < 2 * MiB) {
      await new Promise<void>((r) => socket.write(piece, () => r()));
      sent += 0x4000;
    }
    await until('the answer', () => answer !== '' || over);
    socket.destroy();
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain(`at most ${BODY_LIMITS.alerts} bytes`);
    expect(answer).toMatch(/connection: close/i);
  });
});
