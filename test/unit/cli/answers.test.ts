// What the CLI answers: usage errors as JSON under --json, and the cloud named
// in every answer, failures included.
import { describe, expect, it } from 'vitest';
import { harness, secretFile } from './harness.js';

describe('usage errors under --json', () => {
  it.each([
    [['compute1', '--json'], /^refusing to force compute1 down without --fenced/],
    [['compute1', '--bogus', '--json'], /^Unknown option '--bogus'/],
    [['--json', 'compute1', '--fenced'], /--fenced/], // parseArgs fails: the option has no value
    [['--json', 'compute1', '--fenced', 'yes'], /--fenced must be one of/],
    [['--unset', 'compute1', '--ignore-heartbeat', '--json'], /^--ignore-heartbeat goes with forcing down, not with --unset/],
    [['status', 'compute1', '--ignore-heartbeat', '--json'], /do not go with status/],
    [['--json'], /name a host/],
  ])('%j → one JSON object on stdout, code USAGE, exit 2, nothing on stderr', async (argv, message) => {
    const h = harness();
    const r = await h.run(argv);
    expect(r.code).toBe(2);
    expect(r.err).toBe('');
    expect(r.json).toMatchObject({ ok: false, code: 'USAGE' });
    expect(r.json.message).toMatch(message);
    expect(h.connected).toEqual([]);
  });

  it('without --json a usage error stays text on stderr', async () => {
    const r = await harness().run(['compute1', '--bogus']);
    expect(r).toMatchObject({ code: 2, out: '' });
    expect(r.err).toMatch(/^force-down: Unknown option '--bogus'.*\n\nRun "force-down --help" for usage\.$/s);
  });

  it('"--json" after "--" is a positional argument, not the flag', async () => {
    const r = await harness().run(['--', '--json']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain('is not a host name');
  });

  it('--help names the new flags and the audit as it is written', async () => {
    const { out } = await harness().run(['--help']);
    expect(out).toContain('--cloud NAME, --os-cloud NAME');
    expect(out).toContain('--ignore-heartbeat');
    expect(out).toContain('FORCE_DOWN_HEARTBEAT_WAIT_SECONDS');
    expect(out).toMatch(/slack\.botToken and FORCE_DOWN_CHANNEL/);
  });
});

describe('every answer names the cloud', () => {
  const env = () => ({ FORCE_DOWN_SECRET_FILE: secretFile(['prod', 'dr'], { botToken: false }), OS_CLOUD: 'dr' });

  it('status, list, force-down and --unset, in text', async () => {
    const h = harness();
    expect((await h.run(['status', 'compute1'], env())).out).toMatch(/^compute1 on dr: nova-compute up, enabled, forced_down=false, last heartbeat /);
    expect((await h.run(['list'], env())).out).toMatch(/\(1 of 2 nova-compute services on dr down or forced down; --all shows every one\)$/);
    expect((await h.run(['list', '--all'], env())).out).toMatch(/\(2 nova-compute services on dr\)$/);
    expect((await h.run(['compute1', '--fenced', 'bmc'], env())).out).toMatch(/^compute1: forced down .* on dr; fenced: BMC power-off/);
    expect((await h.run(['--unset', 'compute1'], env())).out).toMatch(/^compute1: forced_down unset .* on dr$/);
  });

  it('failures, in text and JSON', async () => {
    const failure = { code: 'HOST_NOT_FOUND' as const, message: 'Nova has no nova-compute on nosuch', request: 'GET /os-services', status: 404 };
    const h = harness({ getFailure: failure, putFailure: failure });
    const text = await h.run(['nosuch', '--fenced', 'bmc'], env());
    expect(text.code).toBe(3);
    expect(text.err).toMatch(/^force-down: nosuch on dr: HOST_NOT_FOUND: Nova has no nova-compute on nosuch\nNext: Check the spelling/);
    const json = await h.run(['--unset', 'nosuch', '--json'], env());
    expect(json.json).toMatchObject({ ok: false, code: 'HOST_NOT_FOUND', cloud: 'dr', host: 'nosuch' });
    const status = await harness({ getFailure: failure }).run(['status', 'nosuch'], env());
    expect(status.err).toMatch(/^force-down: nosuch on dr: HOST_NOT_FOUND/);
    const list = await harness({ listFailure: { code: 'NOVA_UNAVAILABLE', message: 'Nova did not answer' } }).run(['list'], env());
    expect(list.code).toBe(4);
    expect(list.err).toMatch(/^force-down: cloud dr: NOVA_UNAVAILABLE: Nova did not answer/);
  });

  it('a configuration error about a chosen cloud carries it in JSON', async () => {
    const r = await harness().run(['status', 'compute1', '--json'], { OS_AUTH_URL: 'https://keystone.example:5000/v3', OS_USERNAME: 'u' });
    expect(r.code).toBe(2);
    expect(r.json).toMatchObject({ ok: false, code: 'CONFIG_INVALID', cloud: 'envvars' });
    expect(r.json.message).toContain('OS_PASSWORD: required');
  });
});
