// `force-down evacuate <host>`: the CLI with the real OpenStack client against the fake Keystone +
// Nova (test/fakes/fake-openstack.ts). The test plays Nova's conductor from the CLI's sleep between
// polls (the fake clock moves only then), and catches the Slack audit line with a fake fetch.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../../src/cli/run.js';
import { startFakeOpenStack, type FakeOpenStack, type FakeServerInput } from '../../fakes/fake-openstack.js';
import { tempDir } from '../config/builders.js';
import { cliResult } from './harness.js';

const fakes: FakeOpenStack[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

const PASSWORD = 'SEKRET-evacuate-pass';
const TOKEN = 'xoxb-SEKRET-evacuate-bot';

async function nova(servers: FakeServerInput[], opts: { down?: boolean } = {}) {
  const fake = await startFakeOpenStack({ hosts: ['src1', 'dst1', 'dst2'], servers });
  fakes.push(fake);
  if (opts.down !== false) fake.service('src1')!.forced_down = true;
  return fake;
}

function secretFile(fake: FakeOpenStack): string {
  const file = join(tempDir('force-down-evac-secret-'), 'secret.json');
  const auth = { auth_url: fake.authUrl, username: 'admin', password: PASSWORD, project_name: 'admin', user_domain_name: 'Default', project_domain_name: 'Default' };
  writeFileSync(file, JSON.stringify({ slack: { signingSecret: 'SEKRET-signing', botToken: TOKEN }, clouds: { prod: { auth, region_name: 'RegionOne' } } }));
  return file;
}

const vms = (n: number, extra: Partial<FakeServerInput> = {}) => Array.from({ length: n }, (_, i) => ({ host: 'src1', name: `vm${i}`, ...extra }));
const posts = (fake: FakeOpenStack) => fake.calls().filter((c) => c.method === 'POST' && /\/servers\/[^/]+\/action$/.test(c.path));

interface Run {
  code: number;
  out: string;
  err: string;
  json: any;
  /** The audit lines posted to Slack. */
  audit: string[];
}

/**
 * Runs the CLI. Its sleep ends the oldest accepted evacuation with `end(name)` (`done` by
 * default; undefined leaves it running).
 */
async function run(fake: FakeOpenStack, argv: string[], o: { env?: Record<string, string>; end?: (name: string) => string | undefined; io?: Partial<CliIo> } = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const audit: string[] = [];
  const clock = { now: Date.UTC(2026, 10, 27, 15, 0, 0) };
  const code = await runCli(argv, {
    env: { HOME: tempDir('force-down-evac-home-'), FORCE_DOWN_SECRET_FILE: secretFile(fake), FORCE_DOWN_CHANNEL: 'C0AUDIT', USER: 'alice', ...o.env },
    cwd: tempDir('force-down-evac-cwd-'),
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    now: () => clock.now,
    sleep: async (ms) => {
      clock.now += ms;
      for (const m of fake.migrations().filter((x) => x.status === 'accepted')) {
        const name = fake.server(m.instance_uuid)!.name;
        const status = o.end ? o.end(name) : 'done';
        if (status) {
          fake.setMigrationStatus(m.id, status);
          break;
        }
      }
      await new Promise((resolve) => setImmediate(resolve));
    },
    fetch: (async (_url: string, init: { body: string }) => {
      audit.push(JSON.parse(init.body).text);
      return new Response(JSON.stringify({ ok: true }), { status: 200 });
    }) as unknown as typeof fetch,
    ...o.io,
  });
  return { ...cliResult(code, out, err), audit };
}

describe('force-down evacuate', () => {
  it('evacuates every instance once with --yes: progress on stderr, the table on stdout, exit 0, one audit line', async () => {
    const fake = await nova(vms(3));
    const r = await run(fake, ['evacuate', 'src1', '--yes']);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+STATE BEFORE\s+RESULT\s+DETAIL$/);
    for (const name of ['vm0', 'vm1', 'vm2']) {
      const id = fake.migrations().find((m) => fake.server(m.instance_uuid)!.name === name)!.instance_uuid;
      expect(r.out).toMatch(new RegExp(`^${id}\\s+${name}\\s+ACTIVE\\s+done`, 'm'));
      expect(r.err).toContain(`force-down: src1: ${name} (${id}): evacuate sent`);
      expect(r.err).toContain(`force-down: src1: ${name} (${id}): accepted by Nova; following its migration`);
      expect(r.err).toContain(`force-down: src1: ${name} (${id}): done`);
    }
    expect(lines.at(-1)).toBe('src1 on prod: 3 instances: 3 evacuated');
    expect(posts(fake)).toHaveLength(3);
    expect(fake.migrations()).toHaveLength(3);
    expect(r.audit).toHaveLength(1);
    expect(r.audit[0]).toMatch(/breakglass CLI: alice@\S+ evacuated \*src1\* in prod · target: Nova's scheduler · 3 instances → \*all done\*$/);
    expect(r.audit[0]).not.toContain('SEKRET');
  });

  it('without --yes and nobody to ask: lists what it would evacuate, sends nothing, exit 2', async () => {
    const fake = await nova(vms(2));
    const r = await run(fake, ['evacuate', 'src1']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/would evacuate 2 instances from src1 on prod, where Nova's scheduler chooses:\nID\s+NAME\s+STATE\s+HA/);
    expect(r.err).toMatch(/not confirmed: stdin is not a terminal.*--yes/);
    expect(posts(fake)).toHaveLength(0);
    expect(r.audit).toHaveLength(0);
  });

  it('asks on a terminal: only yes goes on', async () => {
    const fake = await nova(vms(1));
    const questions: string[] = [];
    const no = await run(fake, ['evacuate', 'src1'], { io: { confirm: async (q) => (questions.push(q), false) } });
    expect(no.code).toBe(2);
    expect(questions[0]).toMatch(/src1 must stay fenced .* while its instances are rebuilt elsewhere/);
    expect(posts(fake)).toHaveLength(0);
    const yes = await run(fake, ['evacuate', 'src1'], { io: { confirm: async () => true } });
    expect(yes.code).toBe(0);
    expect(posts(fake)).toHaveLength(1);
  });

  it('exits 3 when Nova refuses one (PAUSED: 409), saying why in plain words; the others still go', async () => {
    const fake = await nova([...vms(1), { host: 'src1', name: 'paused', vm_state: 'paused' }]);
    const r = await run(fake, ['evacuate', 'src1', '--yes']);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/\spaused\s+PAUSED\s+refused\s+INSTANCE_STATE_CONFLICT: Nova will not evacuate the instance while its state is paused \(Nova said: Cannot 'evacuate' instance \S+ while it is in vm_state paused\)/);
    expect(r.out).toMatch(/\svm0\s+ACTIVE\s+done/);
    expect(r.out.split('\n').at(-1)).toBe('src1 on prod: 2 instances: 1 evacuated, 1 refused');
    expect(r.err).toMatch(/paused \(\S+\): refused: INSTANCE_STATE_CONFLICT/);
    expect(r.audit[0]).toMatch(/2 instances → \*1 done, 1 refused\* · not done: paused refused \(INSTANCE_STATE_CONFLICT\)/);
    expect(posts(fake)).toHaveLength(2);
  });

  it('exits 3 for a failed migration and for one that outlasts FORCE_DOWN_EVACUATE_TIMEOUT_MINUTES', async () => {
    const fake = await nova(vms(3));
    const r = await run(fake, ['evacuate', 'src1', '--yes'], { env: { FORCE_DOWN_EVACUATE_TIMEOUT_MINUTES: '1' }, end: (n) => (n === 'vm1' ? 'error' : n === 'vm2' ? undefined : 'done') });
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/\svm1\s+ACTIVE\s+failed\s+migration \d+ error/);
    expect(r.out).toMatch(/\svm2\s+ACTIVE\s+timed out\s+EVACUATION_TIMEOUT: Nova's evacuation of vm2 did not end within 1 min/);
    expect(r.out.split('\n').at(-1)).toBe('src1 on prod: 3 instances: 1 evacuated, 1 failed, 1 timed out');
    expect(posts(fake)).toHaveLength(3);
  });

  it('refuses a host Nova has up before anything is sent (exit 3, HOST_STILL_IN_USE)', async () => {
    const fake = await nova(vms(2), { down: false });
    const r = await run(fake, ['evacuate', 'src1', '--yes']);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/^force-down: src1 on prod: HOST_STILL_IN_USE: Nova sees src1's nova-compute as up and not forced down/);
    expect(r.err).toMatch(/Next: .*force it down \(force-down src1 --fenced <how>, or --power-off\), then run force-down evacuate src1 again/);
    expect(posts(fake)).toHaveLength(0);
    expect(fake.calls().some((c) => c.path === '/v2.1/servers/detail')).toBe(false);
    expect(r.audit[0]).toMatch(/was refused evacuating \*src1\* .* → nothing sent: \*HOST_STILL_IN_USE\*/);
  });

  it('says there is nothing to evacuate (exit 0), and with --ha-only evacuates only the HA-marked ones to --target', async () => {
    const empty = await nova([]);
    const none = await run(empty, ['evacuate', 'src1', '--yes']);
    expect(none).toMatchObject({ code: 0, out: 'src1 on prod: nothing to evacuate (Nova lists no instance on it)' });

    const fake = await nova([{ host: 'src1', name: 'ha', metadata: { HA_Enabled: 'True' } }, { host: 'src1', name: 'plain' }]);
    const r = await run(fake, ['evacuate', 'src1', '--ha-only', '--target', 'dst2', '--yes', '--json']);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({
      ok: true,
      action: 'evacuate',
      cloud: 'prod',
      host: 'src1',
      target: 'dst2',
      scope: 'ha-only',
      microversion: '2.68',
      summary: { total: 1, done: 1, allDone: true },
      instances: [{ name: 'ha', stateBefore: 'ACTIVE', ha: true, result: 'done', migration: { status: 'done', destCompute: 'dst2' } }],
    });
    expect(posts(fake).map((p) => p.body)).toEqual([{ evacuate: { host: 'dst2' } }]);
    expect(r.audit[0]).toMatch(/target dst2 · HA-marked instances only \(--ha-only\) · 1 instance → \*all done\*/);
  });

  it("keeps an instance's name inert on the audit line (no mention, link or formatting)", async () => {
    const fake = await nova([{ host: 'src1', name: '<!channel> *x* <https://evil.example|y>', vm_state: 'paused' }]);
    const r = await run(fake, ['evacuate', 'src1', '--yes']);
    expect(r.code).toBe(3);
    expect(r.audit[0]).toMatch(/not done: /);
    expect(r.audit[0]).not.toMatch(/<!channel>|<https:|\*x\*/);
  });

  it('exits 4 when the only trouble was Nova not answering', async () => {
    const fake = await nova(vms(1));
    fake.failNext('POST', /\/action$/, 503, 'Service Unavailable');
    const r = await run(fake, ['evacuate', 'src1', '--yes']);
    expect(r.code).toBe(4);
    expect(r.out).toMatch(/\svm0\s+ACTIVE\s+refused\s+NOVA_UNAVAILABLE/);
    expect(posts(fake)).toHaveLength(1);
  });

  it.each([
    [['evacuate'], /evacuate needs a host/],
    [['evacuate', 'src1', 'dst1'], /unexpected arguments: dst1/],
    [['evacuate', 'src1', '--target', 'src1'], /--target src1 is the host being evacuated/],
    [['evacuate', 'src1', '--fenced', 'bmc'], /do not go with evacuate/],
    [['status', 'src1', '--yes'], /--target, --ha-only and --yes go with evacuate/],
    [['src1', '--fenced', 'bmc', '--ha-only'], /--target, --ha-only and --yes go with evacuate/],
  ])('usage: %j exits 2 and sends nothing', async (argv, message) => {
    const fake = await nova(vms(1));
    const r = await run(fake, argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(fake.calls()).toHaveLength(0);
  });

  it.each([
    ['FORCE_DOWN_EVACUATE_CONCURRENCY', '0', /FORCE_DOWN_EVACUATE_CONCURRENCY must be a whole number of evacuations from 1 to 50/],
    ['FORCE_DOWN_EVACUATE_TIMEOUT_MINUTES', '241', /FORCE_DOWN_EVACUATE_TIMEOUT_MINUTES must be a whole number of minutes from 1 to 240/],
  ])('%s=%s is a configuration error (exit 2, nothing sent)', async (name, value, message) => {
    const fake = await nova(vms(1));
    const r = await run(fake, ['evacuate', 'src1', '--yes'], { env: { [name]: value } });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(fake.calls()).toHaveLength(0);
  });
});
