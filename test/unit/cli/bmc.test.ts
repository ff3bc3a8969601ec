// The CLI and hosts' BMCs (issue 13): --power-off, --fenced bmc checked against the BMC, and
// `force-down bmc <host>`, with the real Redfish client against the fake BMC (test/fakes/redfish.ts,
// in-process over HTTPS) and the hand-written Nova of harness.ts. The fake clock moves only when the
// CLI sleeps; the fake BMC reports Off when the test says so, after the CLI's first wait.
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FAKE_BMC_CA_FILE, startFakeRedfish, type FakeRedfish, type FakeRedfishOptions } from '../../fakes/redfish.js';
import { auditText } from '../../../src/cli/audit.js';
import { cloudsYaml, harness, secretFile, T0, type Harness } from './harness.js';

const USER = 'bmc-admin-SEKRET';
const PASSWORD = 'SEKRET-bmc-pass-123';
const TOKEN = 'xoxb-SEKRET-bot-000';

const fakes: FakeRedfish[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

/** A fake BMC for compute7 whose resets never finish on their own (the test's sleep finishes them). */
async function fakeBmc(opts: FakeRedfishOptions = {}): Promise<FakeRedfish> {
  const fake = await startFakeRedfish({ username: USER, password: PASSWORD, host: 'compute7', resetDelayMs: 3_600_000, ...opts });
  fakes.push(fake);
  return fake;
}

/** A URL where nothing listens. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `https://127.0.0.1:${port}`;
}

const entry = (url: string, extra: Record<string, unknown> = {}) => ({ url, username: USER, password: PASSWORD, caCert: FAKE_BMC_CA_FILE, ...extra });

/** The secret document: cloud prod, compute7's BMC at `url` (or none), the audit's bot token. */
function env(url: string | undefined, extra: Record<string, string> = {}, bmcExtra: Record<string, unknown> = {}) {
  const bmc = url === undefined ? undefined : { prod: { hosts: { compute7: entry(url, bmcExtra) } } };
  return { FORCE_DOWN_SECRET_FILE: secretFile(['prod'], { botToken: false, ...(bmc ? { bmc } : {}) }), ...extra };
}

/** The harness's fake sleep, and the fake BMC reaching Off once a reset was sent (as a real one does, later). */
function sleepFinishingResets(h: Harness, fake: FakeRedfish) {
  return async (ms: number) => {
    h.events.push(`sleep ${ms}`);
    h.clock.now += ms;
    if (fake.resets().length > 0 && fake.powerState() !== 'Off') {
      fake.setPowerState('1', 'Off');
      h.events.push('bmc Off');
    }
  };
}

/** A fetch standing in for Slack's chat.postMessage, recording the texts. */
function slackFetch(events: string[]) {
  const texts: string[] = [];
  const f = (async (_url: string | URL | Request, init?: RequestInit) => {
    events.push('slack');
    texts.push(JSON.parse(String(init?.body)).text);
    return Response.json({ ok: true, ts: '1.000001' });
  }) as typeof fetch;
  return { fetch: f, texts };
}
const auditEnv = { FORCE_DOWN_CHANNEL: 'C0AUDIT001', SLACK_API_URL: 'http://slack.test/api/', USER: 'alice' };
const withToken = (url: string) => ({ ...env(url), FORCE_DOWN_SECRET_FILE: secretFile(['prod'], { botToken: TOKEN, bmc: { prod: { hosts: { compute7: entry(url) } } } }), ...auditEnv });

const noSecrets = (...texts: string[]) => {
  for (const t of texts) {
    expect(t).not.toContain(PASSWORD);
    expect(t).not.toContain(USER);
    expect(t).not.toContain(Buffer.from(`${USER}:${PASSWORD}`).toString('base64'));
  }
};

describe('force-down <host> --power-off', () => {
  it('powers the host off via Redfish (ForceOff), waits for Off, then forces it down: progress on stderr, the evidence in the answer and the audit line', async () => {
    const fake = await fakeBmc();
    // A heartbeat 4 s ago: --fenced would wait 16 s; after Off there is no wait.
    const h = harness({ updatedAt: () => T0 - 4_000 });
    const slack = slackFetch(h.events);
    const r = await h.run(['compute7', '--power-off', '--note', 'INC-42'], withToken(fake.url), { sleep: sleepFinishingResets(h, fake), fetch: slack.fetch });
    expect(r.code).toBe(0);
    expect(fake.resets()).toEqual([{ system: '1', resetType: 'ForceOff' }]);
    expect(fake.powerState()).toBe('Off');
    // The BMC read On, the reset went out, Off was seen, and only then did Nova hear of it.
    expect(h.events).toEqual(['progress', 'sleep 1000', 'bmc Off', 'progress', 'nova GET compute7', 'nova PUT compute7 true', 'out', 'slack', 'close']);
    expect(r.err.split('\n')).toEqual(['force-down: powering compute7 off via its BMC… (PowerState: On)', 'force-down: powering compute7 off via its BMC… (PowerState: Off)']);
    expect(r.out).toBe(
      `compute7: forced down (nova-compute state=down forced_down=true) via PUT /os-services/{id} at 2.53 on prod; fenced: powered off via its BMC ${fake.url} (ForceOff sent at 2026-11-25T14:00:00Z, Off seen at 2026-11-25T14:00:01Z) (INC-42)`,
    );
    expect(slack.texts).toHaveLength(1);
    expect(slack.texts[0]).toContain('forced down *compute7* in prod · BMC power-off via Redfish (ForceOff), reset sent at `2026-11-25T14:00:00.000Z`, Off seen at `2026-11-25T14:00:01.000Z` · note: “INC-42” · Nova: `PUT /os-services/{id}` @ 2.53 → *OK*');
    noSecrets(r.out, r.err, ...slack.texts);
    expect(fake.openSessions()).toEqual([]);
  });

  it('--json: the BMC evidence as an object', async () => {
    const fake = await fakeBmc();
    const h = harness();
    const r = await h.run(['compute7', '--power-off', '--json'], env(fake.url), { sleep: sleepFinishingResets(h, fake) });
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({
      ok: true,
      action: 'force-down',
      host: 'compute7',
      cloud: 'prod',
      forcedDown: true,
      fenced: 'power-off',
      heartbeatWaitedMs: 0,
      bmc: {
        endpoint: fake.url,
        powerState: 'Off',
        readAt: '2026-11-25T14:00:01.000Z',
        reset: { resetType: 'ForceOff', sentAt: '2026-11-25T14:00:00.000Z', offAt: '2026-11-25T14:00:01.000Z' },
      },
    });
    noSecrets(r.out, r.err);
  });

  it('a host that already reads Off is not reset: it is forced down on the reading', async () => {
    const fake = await fakeBmc({ systems: [{ id: '1', hostName: 'compute7', powerState: 'Off' }] });
    const h = harness();
    const r = await h.run(['compute7', '--power-off'], env(fake.url));
    expect(r.code).toBe(0);
    expect(fake.resets()).toEqual([]);
    expect(r.err).toBe("force-down: compute7's BMC already reports power Off: no reset sent");
    expect(r.out).toMatch(new RegExp(`; fenced: its BMC ${fake.url} already read Off at 2026-11-25T14:00:00Z \\(no reset sent\\)$`));
  });

  it('a BMC that never reports Off → exit 3 BMC_POWER_OFF_TIMEOUT after FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS; Nova untouched', async () => {
    const fake = await fakeBmc({ mode: 'lie' });
    const h = harness();
    const slack = slackFetch(h.events);
    const r = await h.run(['compute7', '--power-off'], { ...withToken(fake.url), FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS: '10' }, { fetch: slack.fetch });
    expect(r.code).toBe(3);
    expect(fake.resets()).toEqual([{ system: '1', resetType: 'ForceOff' }]);
    expect(h.events.filter((e) => e.startsWith('nova'))).toEqual([]);
    expect(h.events.filter((e) => e.startsWith('sleep'))).toHaveLength(10);
    expect(h.clock.now).toBe(T0 + 10_000);
    const lines = r.err.split('\n');
    expect(lines[0]).toBe('force-down: powering compute7 off via its BMC… (PowerState: On)');
    expect(lines).toHaveLength(3); // one progress line: the state never changed
    expect(lines[1]).toMatch(/^force-down: compute7 on prod: BMC_POWER_OFF_TIMEOUT: compute7's BMC \(https:\/\/127\.0\.0\.1:\d+\): accepted ForceOff but did not report Off within 10 s; it last read On/);
    expect(lines[2]).toMatch(/^Next: compute7's BMC accepted the power-off but did not report Off .*nothing was changed in Nova/);
    expect(slack.texts[0]).toMatch(/failed to force down \*compute7\* in prod · BMC power-off via Redfish · BMC: `POST \/redfish\/v1\/Systems\/1\/Actions\/ComputerSystem\.Reset` → \*BMC_POWER_OFF_TIMEOUT\*/);
    noSecrets(r.out, r.err, ...slack.texts);
  });

  it('a BMC that refuses the reset → exit 3 BMC_REJECTED; nothing else tried', async () => {
    const fake = await fakeBmc({ systems: [{ id: '1', hostName: 'compute7', rejectResetTypes: ['ForceOff'] }] });
    const h = harness();
    const r = await h.run(['compute7', '--power-off', '--json'], env(fake.url));
    expect(r.code).toBe(3);
    expect(r.json).toMatchObject({ ok: false, code: 'BMC_REJECTED', status: 501, cloud: 'prod', host: 'compute7' });
    expect(r.json.nextStep).toContain('Power it off by other means');
    expect(h.events.filter((e) => e.startsWith('nova'))).toEqual([]);
  });

  it('an unreachable BMC → exit 4 BMC_UNREACHABLE; Nova untouched', async () => {
    const h = harness();
    const r = await h.run(['compute7', '--power-off', '--json'], env(await deadUrl()));
    expect(r.code).toBe(4);
    expect(r.json).toMatchObject({ ok: false, code: 'BMC_UNREACHABLE', cloud: 'prod', host: 'compute7' });
    expect(r.json.message).toContain('refused the connection');
    expect(h.events.filter((e) => e.startsWith('nova'))).toEqual([]);
  });

  it('credentials the BMC refuses → exit 2 BMC_CONFIG, and the credentials are in no output', async () => {
    const fake = await fakeBmc({ password: 'the-right-one' });
    const h = harness();
    const text = await h.run(['compute7', '--power-off'], env(fake.url));
    expect(text.code).toBe(2);
    expect(text.err).toMatch(/^force-down: compute7 on prod: BMC_CONFIG: compute7's BMC \(https:\/\/127\.0\.0\.1:\d+\): refused the configured credentials/);
    expect(text.err).toContain("Next: Add or fix compute7's BMC entry in FORCE_DOWN_SECRET_FILE's bmc section");
    expect(fake.resets()).toEqual([]);
    expect(h.connected).toEqual(['prod']);
    expect(h.events.filter((e) => e.startsWith('nova'))).toEqual([]);
    noSecrets(text.out, text.err);
  });

  it('FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS out of the bot\'s range → exit 2 before anything is sent', async () => {
    const fake = await fakeBmc();
    for (const value of ['9', '901', 'abc']) {
      const h = harness();
      const r = await h.run(['compute7', '--power-off'], env(fake.url, { FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS: value }));
      expect(r.code).toBe(2);
      expect(r.err).toBe(`force-down: FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS must be a whole number of seconds from 10 to 900 (got "${value}")`);
      expect(h.connected).toEqual([]);
    }
    expect(fake.requests).toEqual([]);
    // Read only for --power-off.
    const h = harness();
    expect((await h.run(['compute7', '--fenced', 'pdu'], env(undefined, { FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS: 'abc' }))).code).toBe(0);
  });
});

describe('force-down <host> --fenced <how>, for a host with a BMC', () => {
  it('--fenced bmc with the BMC reporting On → exit 3 BMC_SAYS_ON; Nova neither read nor changed', async () => {
    const fake = await fakeBmc();
    const h = harness();
    const slack = slackFetch(h.events);
    const text = await h.run(['compute7', '--fenced', 'bmc'], withToken(fake.url), { fetch: slack.fetch });
    expect(text.code).toBe(3);
    expect(text.out).toBe('');
    expect(text.err.split('\n')).toEqual([
      "force-down: compute7 on prod: BMC_SAYS_ON: compute7's BMC reports power On, not Off: it is not fenced",
      "Next: compute7's BMC reports its power is not Off, so compute7 is not fenced by power; nothing was changed in Nova. Power it off (force-down compute7 --power-off does it via the BMC) and run force-down again; if compute7 is fenced another way, run force-down compute7 --fenced pdu|network|dead|other saying how.",
    ]);
    expect(h.events).toEqual(['err', 'slack', 'close']);
    expect(slack.texts[0]).toMatch(/failed to force down \*compute7\* in prod · fenced: BMC power-off \(IPMI\/Redfish\) · BMC: `GET \/redfish\/v1\/Systems\/1` → \*BMC_SAYS_ON\*/);
    expect(fake.resets()).toEqual([]);

    const json = await harness().run(['compute7', '--fenced', 'bmc', '--json'], env(fake.url));
    expect(json.code).toBe(3);
    expect(json.json).toMatchObject({ ok: false, code: 'BMC_SAYS_ON', cloud: 'prod', host: 'compute7' });
    noSecrets(text.out, text.err, json.out, ...slack.texts);
  });

  it('--fenced bmc with an unreachable BMC → exit 4 BMC_UNREACHABLE; Nova untouched', async () => {
    const h = harness();
    const r = await h.run(['compute7', '--fenced', 'bmc'], env(await deadUrl()));
    expect(r.code).toBe(4);
    expect(r.err).toMatch(/^force-down: compute7 on prod: BMC_UNREACHABLE: compute7's BMC \(https:\/\/127\.0\.0\.1:\d+\): refused the connection/);
    expect(r.err).toContain('Next: force-down could not use compute7\'s BMC');
    expect(h.events.filter((e) => e.startsWith('nova'))).toEqual([]);
  });

  it('a BMC reading Off beats the heartbeat wait: forced down at once, the reading in the answer and the audit line', async () => {
    const fake = await fakeBmc({ systems: [{ id: '1', hostName: 'compute7', powerState: 'Off' }] });
    const h = harness({ updatedAt: () => T0 - 4_000 }); // the watch alone would wait 16 s
    const slack = slackFetch(h.events);
    const r = await h.run(['compute7', '--fenced', 'bmc'], withToken(fake.url), { fetch: slack.fetch });
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(h.events).toEqual(['nova GET compute7', 'nova PUT compute7 true', 'out', 'slack', 'close']);
    expect(r.out).toMatch(new RegExp(` on prod; fenced: BMC power-off \\(IPMI/Redfish\\); BMC ${fake.url} reads Off at 2026-11-25T14:00:00Z$`));
    expect(slack.texts[0]).toContain('fenced: BMC power-off (IPMI/Redfish) · BMC reads Off at `2026-11-25T14:00:00.000Z` · Nova: `PUT /os-services/{id}` @ 2.53 → *OK*');
    expect(fake.resets()).toEqual([]);
  });

  it('other methods: the reading is shown, the heartbeat watch decides; an unreachable BMC does not stop them', async () => {
    const fake = await fakeBmc();
    const on = await harness().run(['compute7', '--fenced', 'pdu', '--json'], env(fake.url));
    expect(on.code).toBe(0);
    expect(on.json).toMatchObject({ ok: true, fenced: 'pdu', heartbeatWaitedMs: 0, bmc: { endpoint: fake.url, powerState: 'On', readAt: '2026-11-25T14:00:00.000Z' } });
    expect(on.json.bmc).not.toHaveProperty('reset');

    const h = harness();
    const dead = await h.run(['compute7', '--fenced', 'network'], env(await deadUrl()));
    expect(dead.code).toBe(0);
    expect(dead.out).toMatch(/ on prod; fenced: network isolation \(switch ports down\)$/);
    expect(h.events).toEqual(['nova GET compute7', 'nova PUT compute7 true', 'out', 'close']);
  });

  it('an insecure BMC entry: one warning line on stderr naming the entry, and it is used', async () => {
    const fake = await fakeBmc({ systems: [{ id: '1', hostName: 'compute7', powerState: 'Off' }] });
    const e = env(fake.url, {}, { caCert: undefined, insecure: true });
    const r = await harness().run(['compute7', '--fenced', 'bmc'], e);
    expect(r.code).toBe(0);
    expect(r.err).toBe(
      'force-down: warning: BMC TLS verification is off (insecure: true) for bmc.prod.hosts.compute7: anyone on the management network path can pose as these BMCs; give them a caCert instead',
    );
    // No warning for a host whose BMC verifies, nor for --unset (no BMC is used).
    expect((await harness().run(['compute7', '--fenced', 'bmc'], env(fake.url))).err).toBe('');
    expect((await harness().run(['--unset', 'compute7'], e)).err).toBe('');
  });
});

describe('hosts without a BMC work as before', () => {
  it('--fenced bmc with clouds.yaml, or with a secret document that has no entry for the host: the heartbeat watch, no BMC', async () => {
    for (const e of [
      { OS_CLIENT_CONFIG_FILE: cloudsYaml(['prod']) },
      env(undefined),
      { FORCE_DOWN_SECRET_FILE: secretFile(['prod'], { botToken: false, bmc: { prod: { hosts: { compute8: entry('https://127.0.0.1:9') } } } }) },
    ]) {
      const h = harness();
      const r = await h.run(['compute7', '--fenced', 'bmc'], e);
      expect(r.code).toBe(0);
      expect(r.err).toBe('');
      expect(h.events).toEqual(['nova GET compute7', 'nova PUT compute7 true', 'out', 'close']);
      expect(r.out).toMatch(/ on prod; fenced: BMC power-off \(IPMI\/Redfish\)$/);
    }
  });

  it('--power-off and bmc without a BMC → exit 2 saying where BMCs are configured; Nova not even connected', async () => {
    const yaml = { OS_CLIENT_CONFIG_FILE: cloudsYaml(['prod']) };
    for (const argv of [['compute7', '--power-off'], ['bmc', 'compute7']]) {
      const h = harness();
      const r = await h.run(argv, yaml);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(new RegExp(`^force-down: compute7 on prod: BMC_CONFIG: compute7's BMC is not known: BMCs are configured only in FORCE_DOWN_SECRET_FILE's bmc section \\(the bot's secret document\\), and this run read its cloud from ${yaml.OS_CLIENT_CONFIG_FILE.replace(/[.]/g, '\\.')}, which has no BMCs\n`));
      expect(h.connected).toEqual([]);
    }
    const openrc = await harness().run(['bmc', 'compute7', '--json'], { OS_AUTH_URL: 'https://keystone.example:5000/v3', OS_USERNAME: 'u', OS_PASSWORD: 'SEKRET-os-pass', OS_PROJECT_NAME: 'p' });
    expect(openrc.code).toBe(2);
    expect(openrc.json).toMatchObject({ ok: false, code: 'BMC_CONFIG', host: 'compute7' });
    expect(openrc.json.message).toContain('the OS_* variables (an openrc)');

    const noSection = await harness().run(['compute7', '--power-off'], env(undefined));
    expect(noSection.code).toBe(2);
    expect(noSection.err).toMatch(/BMC_CONFIG: compute7 has no BMC entry: secret file \S+ has no bmc\.prod section/);
    const noEntry = harness();
    const r = await noEntry.run(['bmc', 'compute7', '--json'], { FORCE_DOWN_SECRET_FILE: secretFile(['prod'], { botToken: false, bmc: { prod: { hosts: { compute8: entry('https://127.0.0.1:9') } } } }) });
    expect(r.code).toBe(2);
    expect(r.json.message).toMatch(/^compute7 has no BMC entry in secret file \S+ \(bmc\.prod has no hosts entry for it and no template with a url\)$/);
    expect(noEntry.connected).toEqual([]);
  });
});

describe('force-down bmc <host>', () => {
  it('prints the power state as the BMC reports it, in a line or JSON; no Nova call, no reset', async () => {
    const fake = await fakeBmc({ sessions: true });
    const h = harness();
    const text = await h.run(['bmc', 'compute7'], env(fake.url));
    expect(text.code).toBe(0);
    expect(text.out).toBe(`compute7 on prod: BMC ${fake.url} reports power On (read 2026-11-25T14:00:00Z, system /redfish/v1/Systems/1)`);
    expect(text.err).toBe('');

    fake.setPowerState('1', 'Off');
    const json = await h.run(['bmc', 'COMPUTE7', '--json'], env(fake.url));
    expect(json.code).toBe(0);
    expect(json.json).toEqual({ ok: true, cloud: 'prod', host: 'COMPUTE7', powerState: 'Off', readAt: '2026-11-25T14:00:00.000Z', system: '/redfish/v1/Systems/1', endpoint: fake.url });

    expect(h.connected).toEqual([]);
    expect(fake.resets()).toEqual([]);
    expect(fake.sessionsCreated()).toBe(2);
    expect(fake.openSessions()).toEqual([]);
    noSecrets(text.out, json.out);
  });

  it('a state that is not Redfish\'s is shown quoted, still exit 0', async () => {
    const fake = await fakeBmc({ systems: [{ id: '1', hostName: 'compute7', powerState: 'Paused' }] });
    const r = await harness().run(['bmc', 'compute7'], env(fake.url));
    expect(r.code).toBe(0);
    expect(r.out).toContain('reports power "Paused" (read ');
  });

  it('unreachable → exit 4; refused credentials → exit 2 BMC_CONFIG; neither says the credentials', async () => {
    const unreachable = await harness().run(['bmc', 'compute7', '--json'], env(await deadUrl()));
    expect(unreachable.code).toBe(4);
    expect(unreachable.json).toMatchObject({ ok: false, code: 'BMC_UNREACHABLE', cloud: 'prod', host: 'compute7' });
    expect(unreachable.json.nextStep).not.toContain('Nova');

    const fake = await fakeBmc({ password: 'the-right-one' });
    const refused = await harness().run(['bmc', 'compute7'], env(fake.url));
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/BMC_CONFIG: compute7's BMC \(https:\/\/127\.0\.0\.1:\d+\): refused the configured credentials/);
    noSecrets(unreachable.out, unreachable.err, refused.out, refused.err);
  });

  it('--debug names the BMC used (its address only)', async () => {
    const fake = await fakeBmc();
    const r = await harness().run(['bmc', 'compute7', '--debug'], env(fake.url));
    expect(r.code).toBe(0);
    expect(r.err).toContain(`force-down: debug: BMC ${fake.url} for compute7 from bmc.prod of the secret document`);
    noSecrets(r.err);
  });
});

describe('usage', () => {
  it.each([
    [['--unset', 'compute7', '--power-off'], /^--power-off goes with forcing down, not with --unset/],
    [['compute7', '--power-off', '--fenced', 'bmc'], /^--power-off is the fence .*: give --power-off or --fenced, not both/],
    [['compute7', '--power-off', '--fenced', 'other', '--note', 'x'], /not both/],
    [['compute7', '--power-off', '--ignore-heartbeat'], /^--ignore-heartbeat does not go with --power-off/],
    [['bmc'], /^bmc needs a host/],
    [['bmc', 'compute7', 'nova-compute'], /^unexpected arguments: nova-compute/],
    [['bmc', 'compute7', '--fenced', 'bmc'], /do not go with bmc/],
    [['bmc', 'compute7', '--power-off'], /do not go with bmc/],
    [['bmc', 'compute7', '--all'], /--all goes with list/],
    [['bmc', 'compute7', '--os-compute-api-version', '2.53'], /does not go with bmc/],
    [['bmc', '../redfish'], /is not a host name/],
    [['list', '--power-off'], /do not go with list/],
    [['status', 'compute7', '--power-off'], /do not go with status/],
  ])('%j → exit 2 USAGE, nothing sent', async (argv, message) => {
    const fake = await fakeBmc();
    const h = harness();
    const r = await h.run([...argv, '--json'], env(fake.url));
    expect(r.code).toBe(2);
    expect(r.json).toMatchObject({ ok: false, code: 'USAGE' });
    expect(r.json.message).toMatch(message);
    expect(h.connected).toEqual([]);
    expect(fake.requests).toEqual([]);
  });

  it('--power-off takes --note and a binary; the refusal without a fence points to it', async () => {
    const h = harness();
    const r = await h.run(['compute7']);
    expect(r.err).toContain('(or, when compute7 has a BMC entry in FORCE_DOWN_SECRET_FILE: force-down compute7 --power-off)');
    const fake = await fakeBmc({ systems: [{ id: '1', hostName: 'compute7', powerState: 'Off' }] });
    const ok = await harness().run(['compute7', 'nova-compute', '--power-off', '--note', 'INC-1', '--json'], env(fake.url));
    expect(ok.json).toMatchObject({ ok: true, fenced: 'power-off', note: 'INC-1', binary: 'nova-compute' });
  });

  it('--help shows the new flag and command, where BMCs come from, and keeps the old exit code words', async () => {
    const { out } = await harness().run(['--help']);
    expect(out).toContain('force-down <host> [nova-compute] --power-off [--note TEXT]');
    expect(out).toContain('force-down bmc <host> [--cloud NAME] [--json]');
    expect(out).toContain("FORCE_DOWN_SECRET_FILE's bmc section");
    expect(out).toContain('FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS');
    expect(out).toContain('Exit codes: 0 done, 2 usage or configuration (nothing sent to Nova), 3 refused\n(by Nova or Keystone, or the host still reports to Nova), 4 Nova or Keystone\nunreachable.');
    for (const code of ['BMC_SAYS_ON', 'BMC_UNREACHABLE', 'BMC_POWER_OFF_TIMEOUT', 'BMC_CONFIG', 'BMC_REJECTED']) expect(out).toContain(code);
  });
});

describe('the audit line\'s BMC words', () => {
  const base = { at: T0, who: 'alice@ops1', action: 'force-down' as const, host: 'compute7', binary: 'nova-compute', cloud: 'prod', outcome: { ok: true as const, request: 'PUT /os-services/{id}', microversion: '2.53' } };

  it('power off now on a host that already read Off; a BMC reading with another method; none without a BMC', () => {
    expect(auditText({ ...base, fenced: 'power-off', bmc: { powerState: 'Off', readAt: T0 } })).toContain(
      '· BMC power-off via Redfish: none needed, BMC reads Off at `2026-11-25T14:00:00.000Z` · Nova:',
    );
    expect(auditText({ ...base, fenced: 'pdu', bmc: { powerState: 'On', readAt: T0 } })).toContain('· fenced: PDU outlet switched off · BMC reads On at `2026-11-25T14:00:00.000Z` · Nova:');
    expect(auditText({ ...base, fenced: 'pdu' })).not.toContain('BMC');
  });
});
