// The breakglass CLI with hosts' BMCs (issue 13), run as an operator runs it: the bundled
// dist/cli.mjs, the bot's secret document with a `bmc` section, the real Keystone + Nova lab
// (hosts bmc3 and bmc4 only), and the fake BMC (test/fakes/redfish.ts) over HTTPS in this process.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_BMC_CA_FILE, startFakeRedfish, type FakeRedfish } from '../fakes/redfish.js';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { buildCli, runCli, type CliRun } from './cli-run.js';
import { createNovaProbe, loadLab, type Lab } from './lab.js';

const USER = 'bmc-operator-SEKRET';
const PASSWORD = 'SEKRET-redfish-pass-77';
const BOT_TOKEN = 'xoxb-cli-bmc-audit-token';

let lab: Lab;
let probe: ReturnType<typeof createNovaProbe>;
let host: string; // bmc3: power-off and --fenced bmc
let readOnly: string; // bmc4: force-down bmc
let bmc: FakeRedfish;
let bmcOfReadOnly: FakeRedfish;
let slack: FakeSlackApi;

beforeAll(async () => {
  // Test the bundle users get from `npm ci` (prepare) / `npm run build`, built from the current source.
  buildCli();
  lab = loadLab();
  if (lab.hosts.bmc.length < 4) throw new Error('this lab predates the BMC hosts bmc1..bmc4: restart it (npm run lab:stop; npm run lab:start)');
  [, , host, readOnly] = lab.hosts.bmc as [string, string, string, string];
  probe = createNovaProbe(lab);
  await probe.reset(host);
  // A real BMC takes seconds to power off; PoweringOff in between.
  bmc = await startFakeRedfish({ username: USER, password: PASSWORD, host, resetDelayMs: 1_500 });
  bmcOfReadOnly = await startFakeRedfish({ username: USER, password: PASSWORD, host: readOnly, sessions: true });
  slack = await startFakeSlackApi();
});

afterAll(async () => {
  await Promise.all([bmc?.close(), bmcOfReadOnly?.close(), slack?.close()]);
});

afterEach(async () => {
  slack.reset();
  await probe.reset(host);
});

/** The bot's secret document: the lab's admin cloud as `lab`, the two hosts' BMCs, a Slack bot token for the audit line. */
function secretFile(): string {
  const entry = (url: string) => ({ url, username: USER, password: PASSWORD, caCert: FAKE_BMC_CA_FILE });
  const file = join(mkdtempSync(join(tmpdir(), 'fd-bmc-secret-')), 'secret.json');
  writeFileSync(
    file,
    JSON.stringify({
      slack: { signingSecret: 'cli-bmc-signing', botToken: BOT_TOKEN },
      clouds: { lab: lab.clouds.admin },
      bmc: { lab: { hosts: { [host]: entry(bmc.url), [readOnly]: entry(bmcOfReadOnly.url) } } },
    }),
  );
  return file;
}

/** Runs the bundled CLI (runCli) with the secret document above, the audit channel and the fake Slack. */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runCli(args, { FORCE_DOWN_SECRET_FILE: secretFile(), FORCE_DOWN_CHANNEL: 'C0CLIBMC01', SLACK_API_URL: slack.apiUrl, ...env }, { timeoutMs: 120_000 });
}

const noCredentials = (...texts: string[]) => {
  for (const t of texts) {
    expect(t).not.toContain(PASSWORD);
    expect(t).not.toContain(USER);
  }
};

describe('force-down and BMCs against the lab', () => {
  it('--power-off: the BMC powers the host off (ForceOff), then Nova has it forced down; the audit line has the evidence; --unset cleans up', async () => {
    bmc.setPowerState('1', 'On');
    const down = await cli([host, '--power-off', '--note', 'INC-13']);
    expect(down.code).toBe(0);
    expect(bmc.resets()).toEqual([{ system: '1', resetType: 'ForceOff' }]);
    expect(bmc.powerState()).toBe('Off');
    expect(await probe.service(host)).toMatchObject({ forced_down: true, state: 'down' });

    const progress = down.err.split('\n');
    expect(progress[0]).toBe(`force-down: powering ${host} off via its BMC… (PowerState: On)`);
    expect(progress.at(-1)).toBe(`force-down: powering ${host} off via its BMC… (PowerState: Off)`);
    expect(new Set(progress).size).toBe(progress.length); // one line per new state
    expect(down.out).toMatch(
      new RegExp(`^${host}: forced down \\(nova-compute state=down forced_down=true\\) via PUT /os-services/\\{id\\} at 2\\.53 on lab; fenced: powered off via its BMC ${bmc.url} \\(ForceOff sent at \\S+Z, Off seen at \\S+Z\\) \\(INC-13\\)$`),
    );

    const [call] = slack.calls('chat.postMessage');
    const text = String(call!.body.text);
    expect(text).toMatch(new RegExp(`cli-tester@\\S+ forced down \\*${host}\\* in lab · BMC power-off via Redfish \\(ForceOff\\), reset sent at \`[^\`]+\`, Off seen at \`[^\`]+\` · note: “INC-13” · Nova: \`PUT /os-services/\\{id\\}\` @ 2\\.53 → \\*OK\\*$`));
    const [sentAt, offAt] = [...text.matchAll(/at `([^`]+)`/g)].map((m) => Date.parse(m[1]!));
    expect(offAt).toBeGreaterThanOrEqual(sentAt!);

    const up = await cli(['--unset', host]);
    expect(up.code).toBe(0);
    expect(await probe.service(host)).toMatchObject({ forced_down: false });
    noCredentials(down.out, down.err, up.out, up.err, text);
  });

  it('--fenced bmc: a BMC reporting On refuses (exit 3, BMC_SAYS_ON) and Nova is unchanged; reporting Off, it beats the heartbeat wait', async () => {
    bmc.setPowerState('1', 'On');
    const resets = bmc.resets().length;
    const before = await probe.service(host);
    const refused = await cli([host, '--fenced', 'bmc', '--json']);
    expect(refused.code).toBe(3);
    expect(JSON.parse(refused.out)).toMatchObject({ ok: false, code: 'BMC_SAYS_ON', cloud: 'lab', host });
    expect(await probe.service(host)).toMatchObject({ forced_down: false, updated_at: before.updated_at });
    expect(bmc.resets()).toHaveLength(resets); // read, never reset

    // Nova's updated_at moves now (a force-down and its undoing): the heartbeat watch alone would wait 20 s.
    await probe.setForcedDown(host, true);
    await probe.setForcedDown(host, false);
    bmc.setPowerState('1', 'Off');
    const done = await cli([host, '--fenced', 'bmc', '--json'], { FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '20' });
    expect(done.code).toBe(0);
    expect(done.err).toBe(''); // no "waiting to see whether … still reports" line
    expect(JSON.parse(done.out)).toMatchObject({ ok: true, forcedDown: true, fenced: 'bmc', heartbeatWaitedMs: 0, bmc: { endpoint: bmc.url, powerState: 'Off' } });
    expect(await probe.service(host)).toMatchObject({ forced_down: true });
    noCredentials(refused.out, refused.err, done.out, done.err);
  });

  it('force-down bmc <host> prints the power state (line and JSON) and changes nothing', async () => {
    const before = await probe.service(readOnly);
    const line = await cli(['bmc', readOnly]);
    expect(line).toMatchObject({ code: 0, err: '' });
    expect(line.out).toMatch(new RegExp(`^${readOnly} on lab: BMC ${bmcOfReadOnly.url} reports power On \\(read \\S+Z, system /redfish/v1/Systems/1\\)$`));

    bmcOfReadOnly.setPowerState('1', 'Off');
    const json = await cli(['bmc', readOnly, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({ ok: true, cloud: 'lab', host: readOnly, powerState: 'Off', system: '/redfish/v1/Systems/1', endpoint: bmcOfReadOnly.url });

    expect(bmcOfReadOnly.resets()).toEqual([]);
    expect(bmcOfReadOnly.openSessions()).toEqual([]);
    expect(await probe.service(readOnly)).toMatchObject({ forced_down: before.forced_down, updated_at: before.updated_at });
    expect(slack.calls('chat.postMessage')).toEqual([]); // a read is not audited
    noCredentials(line.out, json.out);
  });
});
