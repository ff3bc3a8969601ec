// `npm run bench` (BMC part, issue 13): confirmation → forced down with "power off now" (Reset via
// the host's BMC over Redfish, Off awaited, then Nova), against the plain force-down of a host
// without a BMC, through the local bot (npm start's composition, SQLite, in-process worker, the
// real Nova + Keystone lab: bmc1 with a fake Redfish BMC, bmc2 without one) and a loopback fake of
// Slack's Web API.
//
// Each round: a request opened and its card posted, then the clock starts at the confirmation
// (confirmRequest, as the modal's submission calls it) and stops when Nova has answered the
// force-down PUT. Rounds alternate the two kinds, so a noisy moment hits both alike; medians.
//
// The BMC's own delay is subtracted from the power-off figure: the fake BMC applies a reset after
// BMC_RESET_DELAY_MS, and the worker reads PowerState every POLL_MS (1 s, docs/bmc.md) after the
// reset, sleeping before each read; Off is seen at the first read after the delay. So the worker
// spent n × POLL_MS asleep waiting for the BMC, n being the reads after the reset: the whole seconds
// between the reset sent and Off seen, as the request's outcome records them (each read takes
// milliseconds on loopback). n × POLL_MS is subtracted: it covers the configured delay and the poll
// granularity both. What remains is our own work: the BMC login and logout, the service root,
// system and reset requests, each poll's request, Nova's calls and the worker's.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { NovaGateway } from '../../src/app/ports.js';
import { confirmRequest, openRequest } from '../../src/app/requests.js';
import type { FenceChoice } from '../../src/domain/fencing.js';
import { startLocalBot } from '../../src/local/bot.js';
import { createJsonLogger } from '../../src/runtime/logger.js';
import { FAKE_BMC_CA, startFakeRedfish } from '../fakes/redfish.js';
import { startFakeSlackApi } from '../fakes/slack-api.js';
import setupLab from '../integration/global-setup.js';
import { createNovaProbe, loadLab } from '../integration/lab.js';

const ROUNDS = Number(process.env.BENCH_BMC_ROUNDS ?? 8);
const WARM_UP = 1;
/** The fake BMC's delay between an accepted reset and Off (real BMCs: 1-11 s; below POLL_MS, so one poll). */
const BMC_RESET_DELAY_MS = 500;
/** The Redfish client's pause before each power-state read after the reset (its default: docs/bmc.md). */
const POLL_MS = 1_000;
/**
 * Each round posts its card in a channel of its own: the bot's per-channel pacer (Slack's pace, about a
 * message a second) then never holds a round's card back behind the previous round's, and the rounds
 * need no spacing (see alerts.ts for the spacing a single channel needs).
 */
const channels = Array.from({ length: 2 * (ROUNDS + WARM_UP) }, (_, i) => `C0BENCH${String(i).padStart(3, '0')}`);
const APPROVER = 'U0BENCH001';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

const teardown = await setupLab();
const lab = loadLab();
const probe = createNovaProbe(lab);
const [withBmc, plain] = lab.hosts.bmc as [string, string];
const slack = await startFakeSlackApi();
const bmc = await startFakeRedfish({ host: withBmc, sessions: true, resetDelayMs: BMC_RESET_DELAY_MS });
const dir = mkdtempSync(join(tmpdir(), 'fd-bench-bmc-'));

try {
  for (const h of [withBmc, plain]) await probe.reset(h);
  const secretFile = join(dir, 'secret.json');
  writeFileSync(
    secretFile,
    JSON.stringify({
      slack: { signingSecret: 'bench', botToken: 'xoxb-bench' },
      clouds: { lab: lab.clouds.admin },
      // Only bmc1 has a BMC: bmc2's force-down is the plain one.
      bmc: { lab: { hosts: { [withBmc]: { url: bmc.url, username: bmc.username, password: bmc.password, caCert: FAKE_BMC_CA } } } },
    }),
  );
  const bot = await startLocalBot({
    env: {
      PORT: '0',
      FORCE_DOWN_DB: join(dir, 'db.sqlite'),
      FORCE_DOWN_SECRET_FILE: secretFile,
      SLACK_API_URL: slack.apiUrl,
      FORCE_DOWN_APPROVERS: APPROVER,
      FORCE_DOWN_ALLOWED_CHANNELS: channels.join(','),
      FORCE_DOWN_TWO_PERSON: 'false',
      // Each round resets the host, which moves the updated_at the heartbeat watch reads: no wait, for both kinds alike.
      FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '0',
    },
    log: createJsonLogger({ write: () => {} }),
  });
  // When Nova answered the force-down PUT: the clock stops there.
  let forcedAt = 0;
  const nova = bot.deps.nova;
  bot.deps.nova = (cloud) => {
    const g = nova(cloud);
    if (!g) return g;
    const wrapped: NovaGateway = {
      getService: g.getService,
      listComputeServices: g.listComputeServices,
      async setForcedDown(host, forcedDown) {
        const res = await g.setForcedDown(host, forcedDown);
        if (res.ok && forcedDown) forcedAt = performance.now();
        return res;
      },
    };
    return wrapped;
  };

  async function round(host: string, method: FenceChoice, channel: string): Promise<{ ms: number; asleepMs: number }> {
    const opened = await openRequest(bot.deps, { host, action: 'force-down', origin: { kind: 'slash', userId: 'U0REQUEST1', channelId: channel }, requestedBy: 'U0REQUEST1', channel, reason: 'bench' });
    if (opened.kind !== 'opened') throw new Error(`bench: could not open a request for ${host}: ${JSON.stringify(opened)}`);
    await bot.queue.idle(); // the card is posted (and the BMC read for it)
    forcedAt = 0;
    const t0 = performance.now();
    const confirmed = await confirmRequest(bot.deps, { id: opened.request.id, userId: APPROVER, userGroups: new Set(), method, note: 'bench' });
    if (confirmed.kind !== 'done') throw new Error(`bench: confirmation refused: ${JSON.stringify(confirmed)}`);
    // The request's end, not the queue's (the worker has later card work that is not part of the figure).
    const done = await (async () => {
      for (;;) {
        const r = await bot.deps.store.get(opened.request.id);
        if (r?.state === 'succeeded' || r?.state === 'failed') return r;
        await new Promise((ok) => setTimeout(ok, 2));
      }
    })();
    if (done.state !== 'succeeded' || forcedAt === 0) throw new Error(`bench: ${host} was not forced down: ${JSON.stringify(done.outcome)}`);
    // The sleeps before each power-state read after the reset: the whole seconds between the reset and Off
    // (each read itself takes milliseconds on loopback), as the outcome records them.
    const reset = done.outcome?.bmc?.reset;
    const polls = reset ? Math.floor((Date.parse(reset.offAt) - Date.parse(reset.sentAt)) / POLL_MS) : 0;
    if (method === 'power-off' && (!reset || polls < 1 || bmc.resets().length === 0)) throw new Error(`bench: the power-off sent no reset, or never polled: ${JSON.stringify(done.outcome)}`);
    return { ms: forcedAt - t0, asleepMs: polls * POLL_MS };
  }

  const plainMs: number[] = [];
  const powerOffMs: number[] = [];
  const powerOffNet: number[] = [];
  let n = 0;
  for (let i = 0; i < ROUNDS + WARM_UP; i++) {
    for (const [host, method] of [[plain, 'dead'], [withBmc, 'power-off']] as const) {
      const r = await round(host, method, channels[n++]!);
      if (i >= WARM_UP) {
        if (method === 'dead') plainMs.push(r.ms);
        else {
          powerOffMs.push(r.ms);
          powerOffNet.push(r.ms - r.asleepMs);
        }
      }
      await probe.reset(host);
      bmc.setPowerState('1', 'On');
    }
  }
  await bot.queue.idle();
  await bot.close();

  const ratio = median(powerOffNet) / median(plainMs);
  console.log(`\nBMC power-off through the local bot (SQLite, in-process worker, real Nova, fake Redfish BMC with sessions; ${ROUNDS} rounds of each, interleaved, medians)\n`);
  console.log(`confirmation → forced down, plain (no BMC)               ${median(plainMs).toFixed(0).padStart(6)} ms   1.00×`);
  console.log(`confirmation → forced down, power off now                ${median(powerOffMs).toFixed(0).padStart(6)} ms   (BMC reset delay ${BMC_RESET_DELAY_MS} ms, polled every ${POLL_MS} ms)`);
  console.log(
    `  the same, minus the BMC's own delay (polls × ${POLL_MS} ms)   ${median(powerOffNet).toFixed(0).padStart(6)} ms   ${ratio.toFixed(2)}×  (goal ≤ 2×) ${ratio <= 2 ? 'met' : 'NOT met'}`,
  );
} finally {
  await bmc.close();
  await slack.close();
  for (const h of [withBmc, plain]) await probe.reset(h).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
  await teardown?.();
}
