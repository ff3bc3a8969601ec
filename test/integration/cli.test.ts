// The breakglass CLI run as an operator runs it: the bundled dist/cli.mjs, a
// clouds.yaml or secret file, against the real Keystone + Nova lab.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createNovaProbe, loadLab, type Lab } from './lab.js';

let lab: Lab;
let probe: ReturnType<typeof createNovaProbe>;
let host: string;
const root = join(import.meta.dirname, '..', '..');

beforeAll(async () => {
  // Test the bundle users get from `npm ci` (prepare) / `npm run build`, built from the current source.
  execFileSync(process.execPath, ['esbuild.config.mjs'], { cwd: root, stdio: 'inherit' });
  lab = loadLab();
  probe = createNovaProbe(lab);
  host = lab.hosts.compute[2]!;
  await probe.reset(host);
});

function cli(args: string[], env: Record<string, string> = {}) {
  const res = spawnSync(process.execPath, [join(root, 'dist/cli.mjs'), ...args], {
    cwd: mkdtempSync(join(tmpdir(), 'fd-cli-')), // no stray ./clouds.yaml
    env: { PATH: process.env.PATH ?? '', HOME: mkdtempSync(join(tmpdir(), 'fd-home-')), OS_CLIENT_CONFIG_FILE: lab.cloudsYaml, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: res.status, out: res.stdout.trim(), err: res.stderr.trim() };
}

describe('force-down CLI against the lab', () => {
  it('forces a fenced host down, shows it in status and list, and unsets it', async () => {
    const down = cli([host, 'nova-compute', '--fenced', 'bmc', '--cloud', 'lab-admin']);
    expect(down).toMatchObject({ code: 0, err: '' });
    expect(down.out).toMatch(new RegExp(`^${host}: forced down \\(nova-compute state=down forced_down=true\\) via PUT /os-services/\\{id\\} at 2\\.53 on lab-admin; fenced: BMC power-off`));
    expect(await probe.service(host)).toMatchObject({ forced_down: true, state: 'down' });

    const status = cli(['status', host], { OS_CLOUD: 'lab-admin' });
    expect(status.code).toBe(0);
    expect(status.out).toMatch(new RegExp(`^${host}: nova-compute down, enabled, forced_down=true, last heartbeat `));

    const list = cli(['list', '--cloud', 'lab-admin']);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(new RegExp(`^${host}\\s+down\\s+enabled\\s+true`, 'm'));
    expect(list.out).not.toMatch(new RegExp(`^${lab.hosts.compute[0]}\\s`, 'm'));

    const up = cli(['--unset', host, 'nova-compute', '--cloud', 'lab-admin']);
    expect(up).toMatchObject({ code: 0 });
    expect(up.out).toMatch(new RegExp(`^${host}: forced_down unset \\(nova-compute state=up forced_down=false\\)`));
    expect(await probe.service(host)).toMatchObject({ forced_down: false, state: 'up' });
  });

  it('takes the pinned legacy path with --os-compute-api-version 2.11 and prints JSON', async () => {
    const res = cli([host, '--fenced', 'pdu', '--cloud', 'lab-appcred', '--os-compute-api-version', '2.11', '--json']);
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
    const res = cli(['status', host], { FORCE_DOWN_SECRET_FILE: file, OS_CLIENT_CONFIG_FILE: '' });
    expect(res).toMatchObject({ code: 0 });
    expect(res.out).toContain(`${host}: nova-compute up, enabled, forced_down=false`);
  });

  it('refuses to force down without --fenced (exit 2), and Nova is untouched', async () => {
    const res = cli([host, '--cloud', 'lab-admin']);
    expect(res.code).toBe(2);
    expect(res.err).toContain('refusing to force');
    expect(await probe.service(host)).toMatchObject({ forced_down: false });
  });

  it('exit 3 when Nova refuses: unknown host, member user, pending evacuations', () => {
    const unknown = cli(['nosuchhost', '--fenced', 'bmc', '--cloud', 'lab-admin']);
    expect(unknown.code).toBe(3);
    expect(unknown.err).toMatch(/^force-down: nosuchhost: HOST_NOT_FOUND: /);
    expect(unknown.err).toContain('Next: Check the spelling');

    const member = cli([host, '--fenced', 'bmc', '--cloud', 'lab-member']);
    expect(member.code).toBe(3);
    expect(member.err).toContain('NOVA_FORBIDDEN');

    cli([lab.hosts.evacuated, '--fenced', 'dead', '--cloud', 'lab-admin']);
    const evac = cli(['--unset', lab.hosts.evacuated, '--cloud', 'lab-admin']);
    expect(evac.code).toBe(3);
    expect(evac.err).toContain('EVACUATIONS_PENDING');
    expect(evac.err).toContain(`Start nova-compute on the recovered ${lab.hosts.evacuated} first`);
  });

  it('exit 4 when Keystone is unreachable (OS_* variables)', () => {
    const res = cli(['status', host], {
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

  it('exit 2 with the cloud names when --cloud names no cloud', () => {
    const res = cli(['status', host, '--cloud', 'prod']);
    expect(res.code).toBe(2);
    expect(res.err).toContain('has no cloud named "prod" (named by --cloud; it has: lab-admin, lab-member, lab-appcred)');
  });
});
