// `force-down evacuate <host>` as an operator runs it (the bundled dist/cli.mjs, its own process,
// stdin not a terminal) against the real Keystone + Nova lab. Nova's conductor does not run in the
// lab: while the CLI follows the migrations, the test plays it (test/integration/evacuation.ts),
// once Nova shows the evacuations it accepted. Hosts: evac1 and evac4 only (evac4 is also where
// evac1's instances are "rebuilt": nothing else of this file lists it meanwhile).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, runCli, type CliRun } from './cli-run.js';
import { evacuationMigrations, finishEvacuation, instancesOn, resetEvacuations, seeded } from './evacuation.js';
import { createNovaProbe, loadLab, type Lab } from './lab.js';
import { until } from './wait.js';

let lab: Lab;
let probe: ReturnType<typeof createNovaProbe>;
const SOURCE = 'evac1';
const OTHER = 'evac4';

async function cleanUp(): Promise<void> {
  // Migrations first: Nova refuses to force a host up while a `done` evacuation away from it remains.
  for (const host of [SOURCE, OTHER]) {
    await resetEvacuations(lab, host);
    await probe.reset(host);
  }
}

beforeAll(async () => {
  buildCli();
  lab = loadLab();
  if (!lab.instances[SOURCE]?.length || !lab.instances[OTHER]?.length) {
    throw new Error('this lab predates the evacuation hosts evac1..evac4: restart it (npm run lab:stop && npm run lab:start)');
  }
  probe = createNovaProbe(lab);
  await cleanUp();
});
afterEach(async () => {
  if (lab && probe) await cleanUp();
});
afterAll(async () => {
  if (lab && probe) await cleanUp();
});

/** The CLI with the lab's clouds.yaml, as admin; 120 s deadline (it polls Nova every 5 s). */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runCli([...args, '--cloud', 'lab-admin'], { OS_CLIENT_CONFIG_FILE: lab.cloudsYaml, ...env }, { timeoutMs: 120_000 });
}

/** How many evacuation migrations Nova has recorded for each instance of `ids`. */
async function migrationCounts(ids: readonly string[]): Promise<number[]> {
  return Promise.all(ids.map(async (id) => (await evacuationMigrations(lab, id)).length));
}

/** Waits until Nova has accepted an evacuation of each of `ids`, then ends each as `end(id)` says. */
async function conduct(ids: readonly string[], end: (id: string) => 'done' | 'error'): Promise<void> {
  await until(`Nova to accept an evacuation of each of ${ids.length} instances`, async () => {
    const counts = await Promise.all(ids.map(async (id) => (await evacuationMigrations(lab, id)).filter((m) => m.status === 'accepted').length));
    return counts.every((n) => n === 1);
  }, { timeoutMs: 90_000, everyMs: 200 });
  for (const id of ids) {
    const status = end(id);
    await finishEvacuation(lab, id, status === 'done' ? { status: 'done', dest: OTHER } : { status: 'error' });
  }
}

const row = (out: string, id: string) => out.split('\n').find((l) => l.startsWith(`${id} `)) ?? '';

describe('force-down evacuate against the lab', () => {
  it('refuses a host Nova has up before anything is sent (exit 3, HOST_STILL_IN_USE)', async () => {
    const ids = seeded(lab, SOURCE).map((i) => i.id);
    expect((await probe.service(SOURCE)).forced_down).toBe(false);
    const res = await cli(['evacuate', SOURCE, '--yes']);
    expect(res.code).toBe(3);
    expect(res.err).toMatch(new RegExp(`^force-down: ${SOURCE} on lab-admin: HOST_STILL_IN_USE: Nova sees ${SOURCE}'s nova-compute as up and not forced down`));
    expect(res.out).toBe('');
    expect(await migrationCounts(ids)).toEqual(ids.map(() => 0));
  });

  it('without --yes (stdin not a terminal) lists the instances and sends nothing (exit 2)', async () => {
    const ids = seeded(lab, SOURCE).map((i) => i.id);
    await probe.setForcedDown(SOURCE, true);
    const res = await cli(['evacuate', SOURCE]);
    expect(res.code).toBe(2);
    expect(res.err).toMatch(new RegExp(`would evacuate 5 instances from ${SOURCE} on lab-admin`));
    for (const id of ids) expect(res.err).toContain(id);
    expect(res.err).toMatch(/not confirmed: stdin is not a terminal/);
    expect(await migrationCounts(ids)).toEqual(ids.map(() => 0));
  });

  it('evacuates every instance of a forced-down host exactly once and exits 0 when every one is done', async () => {
    const instances = seeded(lab, SOURCE);
    const ids = instances.map((i) => i.id);
    await probe.setForcedDown(SOURCE, true);
    const run = cli(['evacuate', SOURCE, '--yes']);
    await conduct(ids, () => 'done');
    const res = await run;
    expect(res.code, res.err).toBe(0);
    expect(res.out.split('\n')[0]).toMatch(/^ID\s+NAME\s+STATE BEFORE\s+RESULT\s+DETAIL$/);
    for (const i of instances) {
      expect(row(res.out, i.id)).toMatch(new RegExp(`^${i.id}\\s+${i.name}\\s+${i.status}\\s+done\\s+on ${OTHER}$`));
      expect(res.err).toContain(`${i.name} (${i.id}): evacuate sent`);
      expect(res.err).toContain(`${i.name} (${i.id}): done (rebuilt on ${OTHER})`);
    }
    expect(res.out.split('\n').at(-1)).toBe(`${SOURCE} on lab-admin: 5 instances: 5 evacuated`);
    // Exactly one evacuation per instance at Nova, and none left on the source.
    expect(await migrationCounts(ids)).toEqual(ids.map(() => 1));
    expect(await instancesOn(lab, SOURCE)).toEqual([]);
  });

  it('exits 3 and says "failed" when an evacuation\'s migration ends in error', async () => {
    const instances = seeded(lab, SOURCE);
    const ids = instances.map((i) => i.id);
    const broken = instances[1]!;
    await probe.setForcedDown(SOURCE, true);
    const run = cli(['evacuate', SOURCE, '--yes', '--json']);
    await conduct(ids, (id) => (id === broken.id ? 'error' : 'done'));
    const res = await run;
    expect(res.code, res.err).toBe(3);
    const json = JSON.parse(res.out);
    expect(json).toMatchObject({ ok: false, action: 'evacuate', host: SOURCE, summary: { total: 5, done: 4, failed: 1, allDone: false } });
    expect(json.instances.find((i: { id: string }) => i.id === broken.id)).toMatchObject({ result: 'failed', code: 'NO_VALID_HOST', migration: { status: 'error' } });
    // Why, in Nova's words: the fault the conductor left on the instance.
    expect(res.err).toContain(`${broken.name} (${broken.id}): failed (migration status error): Nova said: No valid host was found.`);
    expect(await migrationCounts(ids)).toEqual(ids.map(() => 1));
  });

  it("reports evac4's PAUSED instance as refused by Nova (409, in plain words) and the others done: exit 3", async () => {
    const instances = seeded(lab, OTHER);
    const paused = instances.find((i) => i.vm_state === 'paused')!;
    const others = instances.filter((i) => i !== paused).map((i) => i.id);
    await probe.setForcedDown(OTHER, true);
    const run = cli(['evacuate', OTHER, '--yes']);
    // The others go where Nova's scheduler would send them; the lab's conductor is this test.
    await until('Nova to accept the evacuations of evac4\'s evacuable instances', async () => (await migrationCounts(others)).every((n) => n === 1), { timeoutMs: 90_000, everyMs: 200 });
    for (const id of others) await finishEvacuation(lab, id, { status: 'done', dest: SOURCE });
    const res = await run;
    expect(res.code, res.err).toBe(3);
    expect(row(res.out, paused.id)).toMatch(/\sPAUSED\s+refused\s+INSTANCE_STATE_CONFLICT: Nova will not evacuate the instance while its state is paused \(Nova said: Cannot 'evacuate' instance \S+ while it is in vm_state paused\)/);
    for (const id of others) expect(row(res.out, id)).toMatch(new RegExp(`\\sdone\\s+on ${SOURCE}$`));
    expect(res.out.split('\n').at(-1)).toBe(`${OTHER} on lab-admin: 3 instances: 2 evacuated, 1 refused`);
    expect(await migrationCounts([paused.id])).toEqual([0]);
    expect(await migrationCounts(others)).toEqual([1, 1]);
  });
});
