// Evacuating from the card (src/app/evacuation-flow.ts): the modal's checks and submission (api),
// the `evacuate` job (worker), with the memory store's ledger and the real OpenStack client against
// the fake Keystone + Nova (test/fakes/fake-openstack.ts: real HTTP, Nova's evacuate rules). The
// test plays Nova's conductor from the worker's sleep: the fake clock moves only when it sleeps.
import { afterEach, describe, expect, it } from 'vitest';
import { checkEvacuateModal, openEvacuationForm, recoverStalledEvacuations, requestEvacuation, runEvacuationJob } from '../../../src/app/evacuation-flow.js';
import type { AppDeps, Job } from '../../../src/app/ports.js';
import { cloudSchema } from '../../../src/config/schema.js';
import { canRetryEvacuation as canRetry, countEvacuation, roundOf } from '../../../src/domain/evacuation.js';
import type { ForceDownRequest } from '../../../src/domain/request.js';
import { createCloudClient, type CloudClient } from '../../../src/openstack/cloud.js';
import { startFakeOpenStack, type FakeOpenStack, type FakeServerInput } from '../../fakes/fake-openstack.js';
import { aRequest } from '../store/builders.js';
import { APPROVER, setup } from './harness.js';

const opened: { fake: FakeOpenStack; client: CloudClient }[] = [];
afterEach(async () => {
  for (const { fake, client } of opened.splice(0)) {
    await client.close();
    await fake.close();
  }
});

const ONCALL = new Set<string>();
const idOf = (name: string) => `aaaaaaaa-0000-4000-8000-${Buffer.from(name).toString('hex').padStart(12, '0').slice(-12)}`;
const vm = (name: string, extra: Partial<FakeServerInput> = {}): FakeServerInput => ({ id: idOf(name), host: 'compute1', name, ...extra });
const vms = (n: number) => Array.from({ length: n }, (_, i) => vm(`vm${i}`));
const evacuatePosts = (fake: FakeOpenStack) => fake.calls().filter((c) => c.method === 'POST' && /\/servers\/[^/]+\/action$/.test(c.path));
const postsFor = (fake: FakeOpenStack, id: string) => evacuatePosts(fake).filter((c) => c.path === `/v2.1/servers/${id}/action`).length;

interface Options {
  servers?: FakeServerInput[];
  /** How the conductor ends an accepted evacuation of an instance (by name): a migration status, or undefined to leave it running. */
  end?: (name: string) => string | undefined;
  forcedDown?: boolean;
  evacuation?: Partial<NonNullable<AppDeps['evacuation']>>;
}

/**
 * A force-down request of compute1 that Nova carried out (state succeeded), the use cases' deps
 * over the fake OpenStack, and a worker sleep that plays the conductor: each sleep ends the
 * evacuations in progress as `end` says.
 */
async function bench(o: Options = {}) {
  const fake = await startFakeOpenStack({ hosts: ['compute1', 'compute2', 'compute3', 'compute4'], servers: o.servers ?? vms(3) });
  const cloud = cloudSchema.parse({
    auth: { auth_url: fake.authUrl, username: 'admin', password: 'evacuation-flow-pass', project_name: 'admin', user_domain_name: 'Default', project_domain_name: 'Default' },
    region_name: 'RegionOne',
  });
  const client = createCloudClient('prod', cloud, { http: { retries: 2, retryBaseDelayMs: 1, retryMaxDelayMs: 2 } });
  opened.push({ fake, client });
  if (o.forcedDown !== false) fake.service('compute1')!.forced_down = true;
  fake.service('compute4')!.forced_down = true;
  const nameOf = (uuid: string) => fake.server(uuid)?.name ?? '';
  let clock = Date.UTC(2026, 10, 27, 12, 0, 0);
  /** The most evacuations Nova had in progress at once, seen at any sleep of the worker. */
  const inProgress = { max: 0 };
  const t = setup({
    nova: (name) => (name === 'prod' ? client.nova : undefined),
    servers: (name) => (name === 'prod' ? client.servers : undefined),
    evacuation: { concurrency: 2, timeoutMs: 30 * 60_000, pollMs: 5_000, ...o.evacuation },
    now: () => clock,
    sleep: async (ms) => {
      clock += ms;
      inProgress.max = Math.max(inProgress.max, fake.migrations().filter((x) => x.status === 'accepted').length);
      for (const m of fake.migrations().filter((x) => x.status === 'accepted')) {
        const status = (o.end ?? (() => 'done'))(nameOf(m.instance_uuid));
        // A failed rebuild leaves Nova's fault on the instance, as the conductor records "No valid host".
        if (status !== undefined) fake.setMigrationStatus(m.id, status, status === 'error' ? 'No valid host was found. There are not enough hosts available.' : undefined);
      }
      await new Promise((resolve) => setImmediate(resolve));
    },
  });
  const request: ForceDownRequest = aRequest({ id: 'req-fd-1', cloud: 'prod', host: 'compute1', requestedBy: 'U0BOB', state: 'pending', messageTs: '1700000000.000001' });
  await t.deps.store.create(request);
  const at = new Date(clock).toISOString();
  await t.deps.store.transition(request.id, ['pending'], 'approved', at, { confirmation: { by: APPROVER, at, method: 'power-off' } }, APPROVER);
  await t.deps.store.transition(request.id, ['approved'], 'executing', at);
  await t.deps.store.transition(request.id, ['executing'], 'succeeded', at);
  const who = { id: request.id, userId: APPROVER, userGroups: ONCALL };
  /** Runs the queued jobs as the worker does, returning them. */
  const work = async (): Promise<Job[]> => {
    const ran: Job[] = [];
    while (t.jobs.length) {
      const job = t.jobs.shift()!;
      ran.push(job);
      if (job.kind === 'evacuate') await runEvacuationJob(t.deps, job.id, job.by);
    }
    return ran;
  };
  return { ...t, fake, client, request, who, work, inProgress, advance: (ms: number) => (clock += ms) };
}

describe('the evacuation form (api: no Nova call)', () => {
  it('opens for an approver on a forced-down card, once; refuses others and other requests', async () => {
    const b = await bench();
    expect(await openEvacuationForm(b.deps, { ...b.who, retry: false })).toMatchObject({ kind: 'opened', form: { round: 0 } });
    expect(await openEvacuationForm(b.deps, { ...b.who, userId: 'U0NOBODY', retry: false })).toMatchObject({ kind: 'refused', refusal: 'NOT_AUTHORIZED' });
    expect(await openEvacuationForm(b.deps, { ...b.who, retry: true })).toMatchObject({ kind: 'refused', refusal: 'NOTHING_TO_RETRY' });
    const pending = aRequest({ id: 'req-pending', cloud: 'prod', host: 'compute2' });
    await b.deps.store.create(pending);
    expect(await openEvacuationForm(b.deps, { ...b.who, id: pending.id, retry: false })).toMatchObject({ kind: 'refused', refusal: 'NOT_FORCED_DOWN' });
    expect(await requestEvacuation(b.deps, { ...b.who, form: { round: 0 }, scope: 'all' })).toMatchObject({ kind: 'done' });
    expect(await openEvacuationForm(b.deps, { ...b.who, userId: 'U0ONCALL2', userGroups: new Set(['S_ONCALL']), retry: false })).toMatchObject({
      kind: 'refused',
      refusal: 'EVACUATION_STARTED',
      by: APPROVER,
    });
    expect(b.fake.calls()).toEqual([]);
  });

  it('the modal is filled by the worker: the instances, and only up, not forced-down hosts other than this one', async () => {
    const b = await bench({ servers: [...vms(2), vm('ha', { metadata: { HA_Enabled: 'True' } })] });
    await checkEvacuateModal(b.deps, b.request.id, 'V1', { round: 0 });
    expect(b.evacuateModals).toEqual([
      { viewId: 'V1', id: b.request.id, form: { round: 0 }, check: { instances: expect.objectContaining({ total: 3, ha: 1 }), targets: { hosts: ['compute2', 'compute3'] } } },
    ]);
  });
});

describe('the evacuate job (worker)', () => {
  it('50 submissions at once: one evacuation, one job, one evacuate per instance; the card and thread follow it to the end', async () => {
    const b = await bench({ servers: vms(5) });
    const results = await Promise.all(Array.from({ length: 50 }, () => requestEvacuation(b.deps, { ...b.who, form: { round: 0 }, scope: 'all' })));
    expect(results.filter((r) => r.kind === 'done')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'refused' && r.refusal === 'EVACUATION_STARTED')).toHaveLength(49);
    expect(b.jobs).toEqual([{ kind: 'evacuate', id: b.request.id, by: APPROVER }]);
    await b.work();
    for (let i = 0; i < 5; i++) expect(postsFor(b.fake, idOf(`vm${i}`))).toBe(1);
    const ev = (await b.deps.store.getEvacuation(b.request.id))!;
    expect(countEvacuation(ev)).toMatchObject({ total: 5, done: 5 });
    expect(b.evacuationEvents.map((e) => e.event.kind)).toEqual(['requested', 'ended']);
    expect(b.renders.length).toBeGreaterThanOrEqual(2);
    // A second run of the same job (a Lambda retry) sends nothing more and says nothing more.
    await runEvacuationJob(b.deps, b.request.id);
    expect(evacuatePosts(b.fake)).toHaveLength(5);
    expect(b.evacuationEvents).toHaveLength(2);
  });

  it('refuses before sending when Nova does not have the host down; Retry failed… runs the checks again', async () => {
    const b = await bench({ forcedDown: false });
    await requestEvacuation(b.deps, { ...b.who, form: { round: 0 }, scope: 'all' });
    await b.work();
    expect(evacuatePosts(b.fake)).toHaveLength(0);
    const ev = (await b.deps.store.getEvacuation(b.request.id))!;
    expect(ev.refusal).toMatchObject({ round: 1, code: 'HOST_STILL_IN_USE' });
    expect(b.evacuationEvents.map((e) => e.event.kind)).toEqual(['requested', 'refused']);
    expect(canRetry(ev)).toBe(true);
    b.fake.service('compute1')!.forced_down = true;
    const form = await openEvacuationForm(b.deps, { ...b.who, retry: true });
    expect(form).toMatchObject({ kind: 'opened', form: { round: 1 } });
    expect(await requestEvacuation(b.deps, { ...b.who, form: { round: 1 }, scope: 'all' })).toMatchObject({ kind: 'done' });
    expect(await requestEvacuation(b.deps, { ...b.who, form: { round: 1 }, scope: 'all' })).toMatchObject({ kind: 'refused', refusal: 'NOTHING_TO_RETRY' });
    await b.work();
    expect(evacuatePosts(b.fake)).toHaveLength(3);
    expect(countEvacuation((await b.deps.store.getEvacuation(b.request.id))!)).toMatchObject({ total: 3, done: 3 });
  });

  it('a failed migration and a 409 end as failed and refused, with their reasons; Retry failed… resends exactly those, once', async () => {
    const b = await bench({
      servers: [...vms(2), vm('busy', { task_state: 'rebuilding', vm_state: 'paused' })],
      end: (name) => (name === 'vm1' ? 'error' : 'done'),
    });
    await requestEvacuation(b.deps, { ...b.who, form: { round: 0 }, scope: 'all' });
    await b.work();
    const ev = (await b.deps.store.getEvacuation(b.request.id))!;
    const byName = Object.fromEntries(Object.values(ev.instances).map((e) => [e.name, e]));
    expect(byName.vm0).toMatchObject({ state: 'done' });
    expect(byName.vm1).toMatchObject({ state: 'failed', code: 'NO_VALID_HOST', message: expect.stringContaining('(Nova said: No valid host was found. There are not enough hosts available.)') });
    expect(byName.busy).toMatchObject({ state: 'refused', code: 'INSTANCE_STATE_CONFLICT' });
    expect(b.evacuationEvents.at(-1)?.event).toEqual({ kind: 'ended' });
    expect(canRetry(ev)).toBe(true);

    // Two approvers submit the same Retry failed… form at once: one round 2.
    const again = await Promise.all([1, 2].map(() => requestEvacuation(b.deps, { ...b.who, form: { round: 1 }, scope: 'all' })));
    expect(again.filter((r) => r.kind === 'done')).toHaveLength(1);
    await b.work();
    expect(postsFor(b.fake, idOf('vm1'))).toBe(2);
    expect(postsFor(b.fake, idOf('vm0'))).toBe(1);
    expect(postsFor(b.fake, idOf('busy'))).toBe(2);
    const after = (await b.deps.store.getEvacuation(b.request.id))!;
    expect(roundOf(after)).toBe(2);
  });

  it('hands over to a fresh job before its time is up; the next one follows what was accepted without resending', async () => {
    let running = true;
    const b = await bench({ servers: vms(4), end: () => (running ? undefined : 'done'), evacuation: { concurrency: 4, sliceMs: 30_000 } });
    await requestEvacuation(b.deps, { ...b.who, form: { round: 0 }, scope: 'all' });
    const first = b.jobs.shift()!;
    await runEvacuationJob(b.deps, first.kind === 'evacuate' ? first.id : '', APPROVER);
    expect(evacuatePosts(b.fake)).toHaveLength(4);
    expect(b.jobs).toEqual([{ kind: 'evacuate', id: b.request.id }]);
    expect(countEvacuation((await b.deps.store.getEvacuation(b.request.id))!)).toMatchObject({ accepted: 4 });
    expect(b.evacuationEvents.map((e) => e.event.kind)).toEqual(['requested']);
    running = false;
    await b.work();
    expect(evacuatePosts(b.fake)).toHaveLength(4);
    expect(countEvacuation((await b.deps.store.getEvacuation(b.request.id))!)).toMatchObject({ done: 4 });
    expect(b.evacuationEvents.map((e) => e.event.kind)).toEqual(['requested', 'ended']);
  });

  it('across jobs, at most `concurrency` evacuations are in progress at Nova: a fresh job follows those sent before it sends more', async () => {
    let running = true;
    const b = await bench({ servers: vms(6), end: () => (running ? undefined : 'done'), evacuation: { concurrency: 2, sliceMs: 30_000 } });
    // A store whose map of instances comes back in any order (DynamoDB's maps keep none): here, those not sent yet first.
    const read = b.deps.store.getEvacuation.bind(b.deps.store);
    b.deps.store.getEvacuation = async (id) => {
      const ev = await read(id);
      if (!ev) return ev;
      const entries = Object.entries(ev.instances).sort(([, x], [, y]) => Number(y.state === 'planned') - Number(x.state === 'planned'));
      return { ...ev, instances: Object.fromEntries(entries) };
    };
    await requestEvacuation(b.deps, { ...b.who, form: { round: 0 }, scope: 'all' });
    const first = b.jobs.shift()!;
    await runEvacuationJob(b.deps, first.kind === 'evacuate' ? first.id : '', APPROVER);
    expect(evacuatePosts(b.fake)).toHaveLength(2);
    running = false;
    await b.work();
    expect(evacuatePosts(b.fake)).toHaveLength(6);
    expect(countEvacuation((await b.deps.store.getEvacuation(b.request.id))!)).toMatchObject({ done: 6 });
    expect(b.inProgress.max).toBe(2);
  });

  it("resuming an instance claimed before a crash, an older evacuation of it (onto this host) is not taken for ours", async () => {
    const b = await bench({ servers: [vm('moved', { host: 'compute2' })], end: () => undefined, evacuation: { concurrency: 1, timeoutMs: 60_000 } });
    // Months ago: evacuated from compute2 onto compute1, done.
    b.fake.service('compute2')!.forced_down = true;
    expect((await b.client.servers.evacuate(idOf('moved'), 'compute1')).ok).toBe(true);
    b.fake.setMigrationStatus(b.fake.migrations()[0]!.id, 'done');
    b.fake.service('compute2')!.forced_down = false;
    // Now compute1 died; a worker claimed the instance and died before sending its evacuate.
    await requestEvacuation(b.deps, { ...b.who, form: { round: 0 }, scope: 'all' });
    b.jobs.length = 0;
    const at = new Date(b.now()).toISOString();
    await b.deps.store.decideRound(b.request.id, 1, { instances: [{ id: idOf('moved'), name: 'moved' }] }, at);
    await b.deps.store.claimInstance(b.request.id, idOf('moved'), 'planned', 'sending', at);
    await runEvacuationJob(b.deps, b.request.id);
    await b.work();
    // Nothing of ours ever reached Nova: never resent (it may have been), and not reported done either.
    expect(evacuatePosts(b.fake)).toHaveLength(1);
    expect(Object.values((await b.deps.store.getEvacuation(b.request.id))!.instances)[0]).toMatchObject({ state: 'timeout' });
  });

  it('an evacuation that never ends is timed out from when Nova accepted it, across jobs', async () => {
    const b = await bench({ servers: vms(1), end: () => undefined, evacuation: { concurrency: 1, sliceMs: 60_000, timeoutMs: 5 * 60_000 } });
    await requestEvacuation(b.deps, { ...b.who, form: { round: 0 }, scope: 'all' });
    const ran = await b.work();
    expect(ran.length).toBeGreaterThanOrEqual(5);
    expect(ran.length).toBeLessThanOrEqual(7);
    const entry = Object.values((await b.deps.store.getEvacuation(b.request.id))!.instances)[0]!;
    expect(entry).toMatchObject({ state: 'timeout', code: 'EVACUATION_TIMEOUT' });
    expect(evacuatePosts(b.fake)).toHaveLength(1);
  });

  it('a stopping process stops following and hands over to nobody; the next start resumes without resending', async () => {
    let running = true;
    let stopping = false;
    const b = await bench({ servers: vms(3), end: () => (running ? undefined : 'done'), evacuation: { concurrency: 3, stopping: () => stopping } });
    await requestEvacuation(b.deps, { ...b.who, form: { round: 0 }, scope: 'all' });
    const job = b.jobs.shift()!;
    // The evacuates go out, then the process is told to stop while it follows them.
    const sleep = b.deps.sleep;
    b.deps.sleep = async (ms) => {
      stopping = true;
      await sleep(ms);
    };
    await runEvacuationJob(b.deps, job.kind === 'evacuate' ? job.id : '', APPROVER);
    expect(evacuatePosts(b.fake)).toHaveLength(3);
    expect(b.jobs).toEqual([]);
    // The next start: the evacuation is handed over at once, followed to its end, nothing resent.
    stopping = false;
    b.deps.sleep = sleep;
    running = false;
    expect(await recoverStalledEvacuations(b.deps)).toBe(0); // the sweep leaves a decided round to its jobs
    expect(await recoverStalledEvacuations(b.deps, { atStart: true })).toBe(1);
    await b.work();
    expect(evacuatePosts(b.fake)).toHaveLength(3);
    expect(countEvacuation((await b.deps.store.getEvacuation(b.request.id))!)).toMatchObject({ done: 3 });
    expect(await recoverStalledEvacuations(b.deps, { atStart: true })).toBe(0);
  });

  it('the sweep hands an evacuation whose job never ran to the worker again', async () => {
    const b = await bench();
    b.deps.enqueue = async () => {
      throw new Error('throttled');
    };
    expect(await requestEvacuation(b.deps, { ...b.who, form: { round: 0 }, scope: 'all' })).toMatchObject({ kind: 'done' });
    const jobs: Job[] = [];
    b.deps.enqueue = async (job) => void jobs.push(job);
    expect(await recoverStalledEvacuations(b.deps)).toBe(0); // not stalled yet
    b.advance(5 * 60_000);
    expect(await recoverStalledEvacuations(b.deps)).toBe(1);
    expect(jobs).toEqual([{ kind: 'evacuate', id: b.request.id }]);
  });
});
