// `npm run bench` (evacuation part, issue 14): "Evacuate confirmed" → every evacuate accepted, for a
// host with 100 instances, against 100 raw sequential evacuate POSTs to the same server in the same run.
// Against the fake Keystone + Nova (test/fakes/fake-openstack.ts, real HTTP on loopback, Nova's evacuate
// rules at 2.68): the lab's real Nova cannot host 100 instances cheaply.
//
// Ours, as the worker will run it once the evacuation is confirmed: the checks (planEvacuation: the
// host's service record, the microversion, the instances on the host), the ledger written to a SQLite
// store in a temp file (createEvacuation of newEvacuation's 100 `planned` entries), then runEvacuation
// with the store's ledger (storeLedger: each instance claimed planned → sending in SQLite before its
// evacuate, its acceptance and its end recorded) at concurrency 5 (FORCE_DOWN_EVACUATE_CONCURRENCY's default). The
// cloud client is built as the runtime builds it (createCloudClient, default HTTP settings) and is warm
// when the clock starts (its token and Nova's version document read by a planEvacuation beforehand, as
// the worker's client is after drawing the card and the confirmation modal). The clock stops at the
// 100th 'accepted' progress event.
//
// Migrations end at once: runEvacuation holds a slot from an instance's evacuate until its migration
// ends, so with migrations that never end only five would ever be sent. The bench plays Nova's
// conductor in the 'accepted' progress event: that instance's migration is marked `done` at the fake,
// and the run's first read of it after the evacuate sees it ended. A slot then costs what is ours: the
// claim, the migration read before the evacuate, the evacuate, one read after, the ledger's writes. The
// conductor's own time (a scan of the fake's migration list per instance, timed) is subtracted.
//
// Baseline: the same evacuate body (evacuateBody at the client's microversion), headers and token,
// POSTed by undici to the same fake for 100 other instances, one at a time, each awaited, over one
// keep-alive connection opened before the clock starts.
//
// Two series, each against a fake whose every answer comes after a fixed delay (its `latencyMs`):
// - 0 ms: the fake answers at once, in this process. Nothing is left for five at a time to overlap: the
//   figure is CPU (ours, and the fake's share of it, on one thread): three HTTP calls and the ledger's
//   SQLite transactions per instance against one POST. No goal; it says what an instance costs us.
// - 25 ms, what the lab's Nova API takes per call (docs/benchmarks.md: its GET, the raw PUT): Nova's
//   time dominates, as it does in production, and five at a time should beat one at a time although ours
//   makes three calls per instance: the goal is ≤ 1× the sequential baseline.
// Each round starts a fresh fake per series (200 instances: 100 on the baseline's host, 100 on ours, both
// forced down) and a fresh client, then measures the baseline, then ours; the series alternate within a
// round. One round to warm up, then BENCH_EVACUATE_ROUNDS (7); medians.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'undici';
import { planEvacuation, runEvacuation } from '../../src/app/evacuate.js';
import { storeLedger } from '../../src/app/evacuation-ledger.js';
import { cloudSchema } from '../../src/config/schema.js';
import { newEvacuation } from '../../src/domain/evacuation.js';
import { evacuateBody } from '../../src/domain/instance.js';
import { createCloudClient } from '../../src/openstack/cloud.js';
import { createSqliteStore } from '../../src/store/sqlite.js';
import { startFakeOpenStack } from '../fakes/fake-openstack.js';

const ROUNDS = Number(process.env.BENCH_EVACUATE_ROUNDS ?? 7);
const WARM_UP = 1;
const INSTANCES = Number(process.env.BENCH_EVACUATE_INSTANCES ?? 100);
/** FORCE_DOWN_EVACUATE_CONCURRENCY's default (src/config/env.ts). */
const CONCURRENCY = 5;
/** Nova's time per call: 0 (the fake answers at once: what remains is CPU) and the lab's Nova API's ~25 ms (docs/benchmarks.md). */
const LATENCIES = (process.env.BENCH_EVACUATE_LATENCIES_MS ?? '0,25').split(',').map(Number);
const BASE_HOST = 'evac-base';
const OURS_HOST = 'evac-ours';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

const dir = mkdtempSync(join(tmpdir(), 'fd-bench-evacuate-'));

interface RoundResult {
  baseMs: number;
  oursMs: number;
  /** Ours minus the fake conductor's time (marking migrations done). */
  oursNetMs: number;
  /** runEvacuation alone (from its call to the last accepted), conductor excluded. */
  runNetMs: number;
}

async function round(n: number, latencyMs: number): Promise<RoundResult> {
  const servers = [
    ...Array.from({ length: INSTANCES }, (_, i) => ({ host: BASE_HOST, name: `base-${i}` })),
    ...Array.from({ length: INSTANCES }, (_, i) => ({ host: OURS_HOST, name: `ours-${i}` })),
  ];
  const fake = await startFakeOpenStack({ hosts: [BASE_HOST, OURS_HOST], servers, latencyMs });
  const cloud = cloudSchema.parse({
    auth: { auth_url: fake.authUrl, username: 'admin', password: 'bench-evacuate-pass', project_name: 'admin', user_domain_name: 'Default', project_domain_name: 'Default' },
    region_name: 'RegionOne',
  });
  const client = createCloudClient('bench', cloud);
  const store = createSqliteStore({ path: join(dir, `round-${n}.sqlite`) });
  let raw: Client | undefined;
  try {
    for (const h of [BASE_HOST, OURS_HOST]) fake.service(h)!.forced_down = true;
    // Warm: the token, the version document (and the checks' reads), as a worker that drew the card has them.
    const warm = await planEvacuation(client.servers, client.nova, undefined, { host: OURS_HOST, scope: 'all' });
    if (!warm.ok) throw new Error(`bench: the checks refused: ${warm.failure.message}`);
    const microversion = warm.value.microversion!;
    const body = evacuateBody(microversion);
    if (!body.ok) throw new Error(`bench: no evacuate body at ${microversion}`);
    const token = await client.session.getToken();
    const computeUrl = new URL(token.computeUrl);
    const baseIds = await client.servers.listServersOnHost(BASE_HOST);
    if (!baseIds.ok || baseIds.value.length !== INSTANCES) throw new Error('bench: the baseline host does not list its instances');

    // Baseline: 100 sequential POSTs, one keep-alive connection, each awaited (its body read).
    raw = new Client(computeUrl.origin, { keepAliveTimeout: 30_000 });
    const headers = {
      'x-auth-token': token.value,
      'openstack-api-version': `compute ${microversion}`,
      'x-openstack-nova-api-version': microversion,
      'content-type': 'application/json',
      accept: 'application/json',
    };
    const text = JSON.stringify(body.value);
    // One request before the clock, so that the connection is open for the baseline as the client's are for ours.
    await (await raw.request({ method: 'GET', path: `${computeUrl.pathname}/`, headers })).body.dump();
    fake.reset();
    const b0 = performance.now();
    for (const instance of baseIds.value) {
      const res = await raw.request({ method: 'POST', path: `${computeUrl.pathname}/servers/${instance.id}/action`, headers, body: text });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`bench: raw evacuate answered ${res.statusCode}`);
    }
    const baseMs = performance.now() - b0;
    if (fake.count('POST', /\/action$/) !== INSTANCES) throw new Error('bench: the baseline did not send one POST per instance');

    // Ours.
    fake.reset();
    let accepted = 0;
    let conductorMs = 0;
    let stop = 0;
    let allAccepted!: () => void;
    const everyAccepted = new Promise<void>((resolve) => (allAccepted = resolve));
    const requestId = `bench-${n}`;
    const t0 = performance.now();
    const plan = await planEvacuation(client.servers, client.nova, undefined, { host: OURS_HOST, scope: 'all' });
    if (!plan.ok) throw new Error(`bench: the checks refused: ${plan.failure.message}`);
    const created = await store.createEvacuation(
      newEvacuation({ id: `evac-${n}`, requestId, cloud: 'bench', host: OURS_HOST, scope: 'all', by: 'U0BENCH001', at: new Date().toISOString() }, plan.value.instances),
    );
    if (!created.created) throw new Error('bench: the ledger was not created');
    const r0 = performance.now();
    const run = runEvacuation(client.servers, plan.value, {
      concurrency: CONCURRENCY,
      timeoutMs: 60_000,
      pollMs: 1_000,
      now: () => performance.now(),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      ledger: storeLedger(store, requestId),
      onProgress: (p) => {
        if (p.kind !== 'accepted') return;
        if (++accepted === INSTANCES) {
          stop = performance.now();
          allAccepted();
        }
        // Nova's conductor, at once: the instance's migration ends (timed, subtracted).
        const c0 = performance.now();
        const m = fake.migrations().find((x) => x.instance_uuid === p.instance.id && x.status === 'accepted');
        if (m) fake.setMigrationStatus(m.id, 'done');
        conductorMs += performance.now() - c0;
      },
    });
    await everyAccepted;
    const oursMs = stop - t0;
    const conductorBeforeStop = conductorMs; // the last 'accepted' stops the clock before its own marking
    const report = await run;
    if (report.summary.done !== INSTANCES) throw new Error(`bench: not every evacuation ended: ${JSON.stringify(report.summary)}`);
    if (fake.count('POST', /\/action$/) !== INSTANCES) throw new Error('bench: ours did not send one POST per instance');
    const ledger = await store.getEvacuation(requestId);
    if (Object.values(ledger?.instances ?? {}).some((e) => e.state !== 'done')) throw new Error('bench: the ledger does not record every instance done');
    return { baseMs, oursMs, oursNetMs: oursMs - conductorBeforeStop, runNetMs: stop - r0 - conductorBeforeStop };
  } finally {
    await raw?.close();
    await client.close();
    store.close();
    await fake.close();
  }
}

const pad = (ms: number) => ms.toFixed(1).padStart(8);
const times = (x: number) => `${x.toFixed(2)}×`;

try {
  const series = LATENCIES.map((latencyMs) => ({ latencyMs, base: [] as number[], ours: [] as number[], oursNet: [] as number[], runNet: [] as number[] }));
  let n = 0;
  for (let i = 0; i < ROUNDS + WARM_UP; i++) {
    for (const s of series) {
      const r = await round(n++, s.latencyMs);
      if (i < WARM_UP) continue;
      s.base.push(r.baseMs);
      s.ours.push(r.oursMs);
      s.oursNet.push(r.oursNetMs);
      s.runNet.push(r.runNetMs);
    }
  }
  console.log(
    `\nEvacuating ${INSTANCES} instances (fake Keystone + Nova, SQLite ledger, concurrency ${CONCURRENCY}, migrations ending at once; ${ROUNDS} rounds, interleaved, medians)`,
  );
  for (const s of series) {
    const ratio = median(s.oursNet) / median(s.base);
    console.log(`\nNova answering ${s.latencyMs === 0 ? 'at once (loopback, in this process: CPU cost)' : `each call after ${s.latencyMs} ms`}`);
    console.log(`${INSTANCES} raw sequential evacuate POSTs, token in hand, one connection  ${pad(median(s.base))} ms   1.00×`);
    console.log(`confirmed → every evacuate accepted (checks, ledger, sends)       ${pad(median(s.ours))} ms`);
    const verdict = s.latencyMs === 0 ? '(no goal: CPU only, nothing to overlap)' : `(goal ≤ 1×) ${ratio <= 1 ? 'met' : 'NOT met'}`;
    console.log(`  the same, minus the fake conductor's time                       ${pad(median(s.oursNet))} ms   ${times(ratio)}  ${verdict}`);
    console.log(`  of which runEvacuation alone                                    ${pad(median(s.runNet))} ms   ${times(median(s.runNet) / median(s.base))}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
