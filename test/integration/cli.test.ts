// The breakglass CLI run as an operator runs it: the bundled dist/cli.mjs, a
// clouds.yaml or secret file, against the real Keystone + Nova lab.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { buildCli, runCli, type CliRun } from './cli-run.js';
import { keepReporting, silence, type Reporting } from './heartbeat.js';
import { createNovaProbe, loadLab, type Lab } from './lab.js';

let lab: Lab;
let probe: ReturnType<typeof createNovaProbe>;
let host: string;

beforeAll(async () => {
  // Test the bundle users get from `npm ci` (prepare) / `npm run build`, built from the current source.
  buildCli();
  lab = loadLab();
  probe = createNovaProbe(lab);
  host = lab.hosts.compute[2]!;
  await probe.reset(host);
});

/**
 * Runs the bundled CLI (runCli) with the lab's clouds.yaml. FORCE_DOWN_HEARTBEAT_WAIT_SECONDS
 * is 0 unless a test sets it: the API's updated_at also moves when a test
 * resets a host, which the heartbeat watch cannot tell from a heartbeat; the
 * watch itself is tested below on the hb hosts.
 */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runCli(args, { OS_CLIENT_CONFIG_FILE: lab.cloudsYaml, FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '0', ...env });
}

/** A secret file (the bot's document) with these clouds, and a Slack bot token when given. */
function secretFile(clouds: Record<string, unknown>, botToken?: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'fd-secret-')), 'secret.json');
  writeFileSync(file, JSON.stringify({ ...(botToken ? { slack: { signingSecret: 'cli-test-signing', botToken } } : {}), clouds }));
  return file;
}

describe('force-down CLI against the lab', () => {
  it('forces a fenced host down, shows it in status and list, and unsets it', async () => {
    const down = await cli([host, 'nova-compute', '--fenced', 'bmc', '--cloud', 'lab-admin']);
    expect(down).toMatchObject({ code: 0, err: '' });
    expect(down.out).toMatch(new RegExp(`^${host}: forced down \\(nova-compute state=down forced_down=true\\) via PUT /os-services/\\{id\\} at 2\\.53 on lab-admin; fenced: BMC power-off`));
    expect(await probe.service(host)).toMatchObject({ forced_down: true, state: 'down' });

    const status = await cli(['status', host], { OS_CLOUD: 'lab-admin' });
    expect(status.code).toBe(0);
    expect(status.out).toMatch(new RegExp(`^${host} on lab-admin: nova-compute down, enabled, forced_down=true, last heartbeat `));

    const list = await cli(['list', '--cloud', 'lab-admin']);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(new RegExp(`^${host}\\s+down\\s+enabled\\s+true`, 'm'));
    expect(list.out).not.toMatch(new RegExp(`^${lab.hosts.compute[0]}\\s`, 'm'));

    const up = await cli(['--unset', host, 'nova-compute', '--cloud', 'lab-admin']);
    expect(up).toMatchObject({ code: 0 });
    expect(up.out).toMatch(new RegExp(`^${host}: forced_down unset \\(nova-compute state=up forced_down=false\\)`));
    expect(await probe.service(host)).toMatchObject({ forced_down: false, state: 'up' });
  });

  it('takes the pinned legacy path with --os-compute-api-version 2.11 and prints JSON', async () => {
    const res = await cli([host, '--fenced', 'pdu', '--cloud', 'lab-appcred', '--os-compute-api-version', '2.11', '--json']);
    try {
      expect(res.code).toBe(0);
      expect(JSON.parse(res.out)).toMatchObject({ ok: true, action: 'force-down', host, forcedDown: true, request: 'PUT /os-services/force-down', microversion: '2.11', fenced: 'pdu', cloud: 'lab-appcred' });
      expect(await probe.service(host)).toMatchObject({ forced_down: true });
    } finally {
      await probe.reset(host);
    }
  });

  it('reads FORCE_DOWN_SECRET_FILE (the bot\'s secret document)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fd-secret-'));
    const file = join(dir, 'secret.json');
    writeFileSync(file, JSON.stringify({ clouds: { lab: lab.clouds.appcred } }));
    const res = await cli(['status', host], { FORCE_DOWN_SECRET_FILE: file, OS_CLIENT_CONFIG_FILE: '' });
    expect(res).toMatchObject({ code: 0 });
    expect(res.out).toContain(`${host} on lab: nova-compute up, enabled, forced_down=false`);
  });

  it('refuses to force down without --fenced (exit 2), and Nova is untouched', async () => {
    const res = await cli([host, '--cloud', 'lab-admin']);
    expect(res.code).toBe(2);
    expect(res.err).toContain('refusing to force');
    expect(await probe.service(host)).toMatchObject({ forced_down: false });
  });

  it('exit 3 when Nova refuses: unknown host, member user, pending evacuations', async () => {
    const unknown = await cli(['nosuchhost', '--fenced', 'bmc', '--cloud', 'lab-admin']);
    expect(unknown.code).toBe(3);
    expect(unknown.err).toMatch(/^force-down: nosuchhost on lab-admin: HOST_NOT_FOUND: /);
    expect(unknown.err).toContain('Next: Check the spelling');

    const member = await cli([host, '--fenced', 'bmc', '--cloud', 'lab-member']);
    expect(member.code).toBe(3);
    expect(member.err).toContain('NOVA_FORBIDDEN');

    await cli([lab.hosts.evacuated, '--fenced', 'dead', '--cloud', 'lab-admin']);
    const evac = await cli(['--unset', lab.hosts.evacuated, '--cloud', 'lab-admin']);
    expect(evac.code).toBe(3);
    expect(evac.err).toContain('EVACUATIONS_PENDING');
    expect(evac.err).toContain(`Start nova-compute on the recovered ${lab.hosts.evacuated} first`);
  });

  it('exit 4 when Keystone is unreachable (OS_* variables)', async () => {
    const res = await cli(['status', host], {
      OS_CLIENT_CONFIG_FILE: '',
      OS_AUTH_URL: 'http://127.0.0.1:9/v3',
      OS_USERNAME: 'admin',
      OS_PASSWORD: 'not-the-Pa55',
      OS_PROJECT_NAME: 'admin',
    });
    expect(res.code).toBe(4);
    expect(res.err).toContain('KEYSTONE_UNAVAILABLE');
    expect(res.err).not.toContain('not-the-Pa55');
  });

  it('exit 2 with the cloud names when --cloud names no cloud', async () => {
    const res = await cli(['status', host, '--cloud', 'prod']);
    expect(res.code).toBe(2);
    expect(res.err).toContain('has no cloud named "prod" (named by --cloud; it has: lab-admin, lab-member, lab-appcred)');
  });
});

describe('the cloud the operator named, with FORCE_DOWN_SECRET_FILE set (issue 10)', () => {
  // admin may read os-services, member may not: which cloud's credentials were used shows in Nova's answer.
  const file = () => secretFile({ admin: lab.clouds.admin, appcred: lab.clouds.appcred, member: lab.clouds.member });

  it('OS_CLOUD beats FORCE_DOWN_DEFAULT_CLOUD; --cloud/--os-cloud beat OS_CLOUD; the answer names the cloud used', async () => {
    const env = { FORCE_DOWN_SECRET_FILE: file(), OS_CLIENT_CONFIG_FILE: '', FORCE_DOWN_DEFAULT_CLOUD: 'admin' };

    const byDefault = await cli(['status', host, '--json'], env);
    expect(byDefault.code).toBe(0);
    expect(JSON.parse(byDefault.out)).toMatchObject({ ok: true, cloud: 'admin', service: { host } });

    const byOsCloud = await cli(['status', host], { ...env, OS_CLOUD: 'appcred' });
    expect(byOsCloud.code).toBe(0);
    expect(byOsCloud.out).toMatch(new RegExp(`^${host} on appcred: nova-compute `));

    // The member's credentials were really used: Nova refuses them, and the failure names the cloud.
    const member = await cli(['status', host, '--json'], { ...env, OS_CLOUD: 'member' });
    expect(member.code).toBe(3);
    expect(JSON.parse(member.out)).toMatchObject({ ok: false, code: 'NOVA_FORBIDDEN', cloud: 'member' });
    const memberText = await cli(['status', host], { ...env, OS_CLOUD: 'member' });
    expect(memberText.err).toMatch(new RegExp(`^force-down: ${host} on member: NOVA_FORBIDDEN: `));

    const byFlag = await cli(['status', host, '--os-cloud', 'admin', '--json'], { ...env, OS_CLOUD: 'member' });
    expect(JSON.parse(byFlag.out)).toMatchObject({ ok: true, cloud: 'admin' });
  });

  it('several clouds and none named, or one that is not there → exit 2 listing them; Nova untouched', async () => {
    const several = await cli([host, '--fenced', 'bmc', '--json'], { FORCE_DOWN_SECRET_FILE: file(), OS_CLIENT_CONFIG_FILE: '' });
    expect(several.code).toBe(2);
    expect(JSON.parse(several.out)).toMatchObject({ ok: false, code: 'CONFIG_INVALID', clouds: ['admin', 'appcred', 'member'] });
    const unknown = await cli([host, '--fenced', 'bmc'], { FORCE_DOWN_SECRET_FILE: file(), OS_CLIENT_CONFIG_FILE: '', OS_CLOUD: 'lab-admin' });
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('has no cloud named "lab-admin" (named by OS_CLOUD; it has: admin, appcred, member)');
    expect(await probe.service(host)).toMatchObject({ forced_down: false });
  });

  it('a usage error under --json is JSON on stdout', async () => {
    const res = await cli([host, '--fenced', 'bmc', '--bogus', '--json']);
    expect(res).toMatchObject({ code: 2, err: '' });
    expect(JSON.parse(res.out)).toMatchObject({ ok: false, code: 'USAGE' });
  });
});

describe('the audit line in Slack', () => {
  let slack: FakeSlackApi;
  let hung: Server | undefined;
  const token = 'xoxb-cli-audit-token';

  beforeAll(async () => {
    slack = await startFakeSlackApi();
  });
  afterEach(async () => {
    slack.reset();
    await probe.reset(host);
    if (hung) {
      hung.closeAllConnections();
      await new Promise((r) => hung!.close(r));
      hung = undefined;
    }
  });

  const env = (apiUrl: string) => ({
    FORCE_DOWN_SECRET_FILE: secretFile({ admin: lab.clouds.admin, appcred: lab.clouds.appcred }, token),
    OS_CLIENT_CONFIG_FILE: '',
    OS_CLOUD: 'appcred',
    FORCE_DOWN_DEFAULT_CLOUD: 'admin',
    FORCE_DOWN_CHANNEL: 'C0CLIAUDIT',
    SLACK_API_URL: apiUrl,
  });

  it('force-down and --unset each post one line to FORCE_DOWN_CHANNEL, after Nova changed', async () => {
    const down = await cli([host, '--fenced', 'network', '--note', 'ports 1/0/7-8 shut'], env(slack.apiUrl));
    expect(down).toMatchObject({ code: 0, err: '' });
    expect(down.out).toContain(' on appcred; fenced: network isolation');
    expect(await probe.service(host)).toMatchObject({ forced_down: true });
    const [call] = slack.calls('chat.postMessage');
    expect(call).toMatchObject({ token, body: { channel: 'C0CLIAUDIT' } });
    const text = String(call!.body.text);
    expect(text).toMatch(new RegExp(`breakglass CLI: cli-tester@\\S+ forced down \\*${host}\\* in appcred · fenced: network isolation \\(switch ports down\\) · note: “ports 1/0/7-8 shut” · Nova: \`PUT /os-services/\\{id\\}\` @ 2\\.53 → \\*OK\\*$`));

    const up = await cli(['--unset', host], env(slack.apiUrl));
    expect(up.code).toBe(0);
    expect(String(slack.calls('chat.postMessage')[1]!.body.text)).toMatch(new RegExp(`unset forced-down on \\*${host}\\* in appcred · Nova: .* → \\*OK\\*$`));
    expect(`${down.out}${down.err}${up.out}${up.err}`).not.toContain(token);
  });

  it('Slack refusing the post is a warning: the force-down stands and the exit code is 0', async () => {
    slack.failNext('chat.postMessage', { error: 'channel_not_found' });
    const res = await cli([host, '--fenced', 'bmc', '--json'], env(slack.apiUrl));
    expect(res.code).toBe(0);
    expect(JSON.parse(res.out)).toMatchObject({ ok: true, forcedDown: true, cloud: 'appcred' });
    expect(res.err).toBe('force-down: warning: the audit line was not posted to Slack channel C0CLIAUDIT: Slack answered channel_not_found');
    expect(await probe.service(host)).toMatchObject({ forced_down: true });
  });

  it('a Slack that never answers: Nova was changed before the post began, and the CLI still exits 0 with a warning', async () => {
    let postArrived!: () => void;
    const arrived = new Promise<void>((r) => (postArrived = r));
    let forcedDownWhenPosted: boolean | undefined;
    hung = createServer(() => {
      // Never answers. Records Nova's state as the post arrives: it must already be forced down.
      void probe.service(host).then((s) => {
        forcedDownWhenPosted = s.forced_down;
        postArrived();
      });
    });
    await new Promise<void>((r) => hung!.listen(0, '127.0.0.1', r));
    const res = await cli([host, '--fenced', 'bmc'], env(`http://127.0.0.1:${(hung.address() as AddressInfo).port}/api/`));
    await arrived;
    expect(forcedDownWhenPosted).toBe(true);
    expect(res.code).toBe(0);
    expect(res.out).toMatch(new RegExp(`^${host}: forced down `));
    expect(res.err).toBe('force-down: warning: the audit line was not posted to Slack channel C0CLIAUDIT: Slack did not answer within 3 s');
  });
});

describe('the heartbeat watch against Nova', () => {
  let reporting: Reporting | undefined;
  let hb: string;

  beforeAll(() => {
    const hosts = loadLab().hosts.heartbeat;
    if (hosts.length === 0) throw new Error('this lab predates the heartbeat hosts hb1..hb4: restart it (npm run lab:stop; npm run lab:start)');
    hb = hosts[0]!;
  });
  afterEach(async () => {
    await reporting?.stop();
    reporting = undefined;
    await probe.reset(hb);
    await silence(lab, hb, 600); // as the lab seeded it
  });

  it('a host that keeps reporting → exit 3 HOST_STILL_REPORTING, forced_down still false; --ignore-heartbeat forces it down', async () => {
    reporting = await keepReporting(lab, hb, 2_000);
    const refused = await cli([hb, '--fenced', 'bmc', '--cloud', 'lab-admin'], { FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '6' });
    expect(refused.code).toBe(3);
    expect(refused.err).toMatch(new RegExp(`^force-down: ${hb} on lab-admin: HOST_STILL_REPORTING: ${hb} still reports to Nova \\(last heartbeat \\d+ s ago`, 'm'));
    expect(refused.err).toContain(`fence ${hb} for real, and run force-down again`);
    expect(await probe.service(hb)).toMatchObject({ forced_down: false });

    const json = await cli([hb, '--fenced', 'bmc', '--cloud', 'lab-admin', '--json'], { FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '6' });
    expect(json.code).toBe(3);
    expect(JSON.parse(json.out)).toMatchObject({ ok: false, code: 'HOST_STILL_REPORTING', cloud: 'lab-admin', host: hb });
    expect(await probe.service(hb)).toMatchObject({ forced_down: false });

    const forced = await cli([hb, '--fenced', 'bmc', '--cloud', 'lab-admin', '--ignore-heartbeat', '--json'], { FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '6' });
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.out)).toMatchObject({ ok: true, forcedDown: true, heartbeatIgnored: true, cloud: 'lab-admin' });
    expect(await probe.service(hb)).toMatchObject({ forced_down: true });
  });

  it('a silent host (Nova counts it down) is forced down at once, without waiting, at the default wait', async () => {
    const res = await cli([hb, '--fenced', 'dead', '--cloud', 'lab-admin', '--json'], { FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '' });
    expect(res.code).toBe(0);
    expect(res.err).toBe(''); // no "waiting to see whether…" line
    expect(JSON.parse(res.out)).toMatchObject({ ok: true, forcedDown: true, heartbeatWaitedMs: expect.any(Number) });
    expect(await probe.service(hb)).toMatchObject({ forced_down: true });
  });

  it('a recent heartbeat that does not move: a progress line, then forced down once it is old enough', async () => {
    await silence(lab, hb, 2); // Nova last heard from it 2 s ago, and hears nothing more
    // The default wait (20 s): a busy machine may take seconds to start the CLI, and the watch must still find it recent.
    const res = await cli([hb, '--fenced', 'bmc', '--cloud', 'lab-admin', '--json'], { FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '20' });
    expect(res.code).toBe(0);
    expect(res.err).toMatch(new RegExp(`^force-down: waiting to see whether ${hb} still reports to Nova \\(last heartbeat \\d+ s ago; deciding in \\d+ s\\)…$`));
    expect(JSON.parse(res.out)).toMatchObject({ ok: true, forcedDown: true });
    expect(await probe.service(hb)).toMatchObject({ forced_down: true });
  });
});
