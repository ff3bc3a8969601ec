import { describe, expect, it } from 'vitest';
import { parseCli, UsageError } from '../../../src/cli/args.js';
import { runCli, EXIT, describeService } from '../../../src/cli/run.js';
import { parseUtc } from '../../../src/domain/time.js';

const usage = (argv: string[]) => {
  try {
    parseCli(argv);
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error('expected a usage error');
};

describe('CLI arguments', () => {
  it('mirrors `nova service-force-down [--unset] <host> nova-compute`', () => {
    expect(parseCli(['compute1', 'nova-compute', '--fenced', 'bmc'])).toMatchObject({ kind: 'set', host: 'compute1', binary: 'nova-compute', forcedDown: true, fenced: 'bmc' });
    expect(parseCli(['--unset', 'compute1'])).toMatchObject({ kind: 'set', host: 'compute1', forcedDown: false });
    expect(parseCli(['status', 'compute1.example.org', '--json'])).toMatchObject({ kind: 'status', host: 'compute1.example.org', common: { json: true } });
    expect(parseCli(['list', '--all', '--cloud', 'prod'])).toMatchObject({ kind: 'list', all: true, common: { cloud: { name: 'prod', flag: '--cloud' } } });
    expect(parseCli(['list', '--os-cloud', 'prod'])).toMatchObject({ common: { cloud: { name: 'prod', flag: '--os-cloud' } } });
    expect(parseCli(['compute1', '--fenced', 'pdu', '--os-compute-api-version', '2.11'])).toMatchObject({ common: { microversion: '2.11' } });
  });

  it('refuses to force down without --fenced, and says why fencing comes first', () => {
    const msg = usage(['compute1']);
    expect(msg).toContain('refusing to force compute1 down without --fenced');
    expect(msg).toContain('run twice and corrupt their disks');
    expect(msg).toContain('--fenced bmc|pdu|network|dead|other');
  });

  it('rejects bad fencing methods, hosts and binaries with the reason', () => {
    expect(usage(['compute1', '--fenced', 'yes'])).toMatch(/--fenced must be one of bmc, pdu, network, dead, other/);
    expect(usage(['compute1', '--fenced', 'other'])).toMatch(/needs --note/);
    expect(usage(['../os-services/x', '--fenced', 'bmc'])).toMatch(/is not a host name/);
    expect(usage(['compute 1', '--fenced', 'bmc'])).toMatch(/is not a host name/);
    expect(usage(['a'.repeat(64), '--fenced', 'bmc'])).toMatch(/is not a host name/);
    expect(usage(['compute1', 'bash', '--fenced', 'bmc'])).toMatch(/not a Nova service binary/);
    expect(usage(['--unset', 'compute1', '--fenced', 'bmc'])).toMatch(/--fenced goes with forcing down/);
    expect(usage(['compute1', '--bogus'])).toMatch(/Unknown option '--bogus'/);
    expect(usage([])).toMatch(/name a host/);
    expect(usage(['status'])).toMatch(/status needs a host/);
    expect(usage(['compute1', '--fenced', 'bmc', '--os-compute-api-version', 'latest'])).toMatch(/2\.53/);
  });
});

describe('CLI run (no OpenStack needed)', () => {
  const run = async (argv: string[], env: Record<string, string | undefined> = { HOME: '/nonexistent' }) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, { env, out: (t) => out.push(t), err: (t) => err.push(t), cwd: '/nonexistent' });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  it('exits 2 with the reason on usage errors', async () => {
    const r = await run(['compute1']);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toContain('without --fenced');
    expect(r.out).toBe('');
  });

  it('exits 2 naming where credentials may come from when none are configured', async () => {
    const r = await run(['status', 'compute1']);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toMatch(/FORCE_DOWN_SECRET_FILE.*OS_CLOUD/);
  });

  it('prints a JSON error object with --json', async () => {
    const r = await run(['status', 'compute1', '--json']);
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, code: 'CONFIG_INVALID' });
  });

  it('prints help on --help and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Exit codes: 0 done, 2 usage or configuration (nothing sent to Nova), 3 refused\n(by Nova or Keystone, or the host still reports to Nova), 4 Nova or Keystone\nunreachable.');
  });
});

describe('service formatting', () => {
  it('reads Nova\'s naive timestamps as UTC and shows the heartbeat age', () => {
    expect(parseUtc('2026-11-25T14:00:00.000000')).toBe(Date.UTC(2026, 10, 25, 14));
    const line = describeService(
      { host: 'compute1', binary: 'nova-compute', state: 'down', status: 'enabled', forcedDown: true, updatedAt: '2026-11-25T14:00:00.000000', zone: 'nova' },
      Date.UTC(2026, 10, 25, 14, 3),
    );
    expect(line).toBe('compute1: nova-compute down, enabled, forced_down=true, last heartbeat 2026-11-25T14:00:00Z (3 min ago), zone nova');
  });
});
