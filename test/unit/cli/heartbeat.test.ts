// The CLI's heartbeat watch before a force-down (src/app/heartbeat.ts), on a
// fake Nova and a fake clock: sleeps advance the clock, nothing waits.
import { describe, expect, it } from 'vitest';
import { harness, secretFile, T0 } from './harness.js';

const env = (extra: Record<string, string> = {}) => ({ FORCE_DOWN_SECRET_FILE: secretFile(['prod'], { botToken: false }), ...extra });

describe('heartbeat watch', () => {
  it('a host silent for longer than the wait is forced down at once: one read, no progress line', async () => {
    const h = harness({ updatedAt: () => T0 - 60_000 });
    const r = await h.run(['compute1', '--fenced', 'bmc', '--json'], env());
    expect(r.code).toBe(0);
    expect(h.events).toEqual(['nova GET compute1', 'nova PUT compute1 true', 'out', 'close']);
    expect(r.json).toMatchObject({ ok: true, cloud: 'prod', heartbeatWaitedMs: 0 });
    expect(r.json).not.toHaveProperty('heartbeatIgnored');
  });

  it('a recent heartbeat that does not move: a progress line on stderr, then forced down once it is FORCE_DOWN_HEARTBEAT_WAIT_SECONDS old', async () => {
    const h = harness({ updatedAt: () => T0 - 4_000 });
    const r = await h.run(['compute1', '--fenced', 'bmc', '--json'], env());
    expect(r.code).toBe(0);
    expect(r.err).toBe('force-down: waiting to see whether compute1 still reports to Nova (last heartbeat 4 s ago; deciding in 16 s)…');
    expect(h.events.slice(0, 3)).toEqual(['nova GET compute1', 'progress', 'sleep 2000']);
    expect(h.events.slice(-3)).toEqual(['nova PUT compute1 true', 'out', 'close']);
    expect(r.json).toMatchObject({ ok: true, forcedDown: true, heartbeatWaitedMs: 16_000 });
  });

  it('FORCE_DOWN_HEARTBEAT_WAIT_SECONDS sets the wait', async () => {
    const h = harness({ updatedAt: () => T0 - 4_000 });
    const r = await h.run(['compute1', '--fenced', 'bmc', '--json'], env({ FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '6' }));
    expect(r.err).toContain('(last heartbeat 4 s ago; deciding in 2 s)');
    expect(r.json).toMatchObject({ ok: true, heartbeatWaitedMs: 2_000 });
  });

  it('a new heartbeat during the watch → exit 3 HOST_STILL_REPORTING, Nova\'s PUT never made (text)', async () => {
    // Nova hears from the host every 10 s: the second read sees a newer heartbeat.
    const h = harness({ updatedAt: (_read, now) => now - ((now - T0 + 4_000) % 10_000) });
    const r = await h.run(['compute1', '--fenced', 'bmc'], env());
    expect(r.code).toBe(3);
    expect(h.events.filter((e) => e.startsWith('nova PUT'))).toEqual([]);
    expect(r.out).toBe('');
    const [progress, failure, next] = r.err.split('\n');
    expect(progress).toMatch(/^force-down: waiting to see whether compute1 still reports to Nova/);
    expect(failure).toMatch(/^force-down: compute1 on prod: HOST_STILL_REPORTING: compute1 still reports to Nova \(last heartbeat \d+ s ago\)$/);
    expect(next).toBe(
      "Next: compute1's nova-compute still reports to Nova, so compute1 is running and not fenced; nothing was changed in Nova. Check the fence (BMC power state, switch port), fence compute1 for real, and run force-down again.",
    );
  });

  it('a heartbeat newer than the command itself → HOST_STILL_REPORTING at once, in JSON with ageSeconds', async () => {
    // The command started at T0 (the fake clock stands still); Nova heard from the host 1 ms later.
    const h = harness({ updatedAt: () => T0 + 1 });
    const r = await h.run(['compute1', '--fenced', 'bmc', '--json'], env());
    expect(r.code).toBe(3);
    expect(r.json).toMatchObject({ ok: false, code: 'HOST_STILL_REPORTING', cloud: 'prod', host: 'compute1', request: 'GET /os-services', ageSeconds: 0 });
    expect(r.json.message).toContain('after the fence was confirmed');
    expect(r.json.nextStep).toContain('run force-down again');
    expect(h.events.filter((e) => e.startsWith('nova'))).toEqual(['nova GET compute1']);
  });

  it('--ignore-heartbeat skips the watch and says so (text and JSON)', async () => {
    const h = harness({ updatedAt: (_read, now) => now });
    const text = await h.run(['compute1', '--fenced', 'bmc', '--ignore-heartbeat'], env());
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/ on prod; fenced: BMC power-off \(IPMI\/Redfish\); heartbeat watch skipped \(--ignore-heartbeat\)$/);
    const json = await h.run(['compute1', '--fenced', 'bmc', '--ignore-heartbeat', '--json'], env());
    expect(json.json).toMatchObject({ ok: true, forcedDown: true, heartbeatIgnored: true });
    expect(json.json).not.toHaveProperty('heartbeatWaitedMs');
    expect(h.events.filter((e) => e.startsWith('nova'))).toEqual(['nova PUT compute1 true', 'nova PUT compute1 true']);
  });

  it('--ignore-heartbeat also shows in a failure', async () => {
    const h = harness({ putFailure: { code: 'NOVA_FORBIDDEN', message: 'Nova refused', status: 403 } });
    const text = await h.run(['compute1', '--fenced', 'bmc', '--ignore-heartbeat'], env());
    expect(text.err).toMatch(/^force-down: compute1 on prod: NOVA_FORBIDDEN: Nova refused \[heartbeat watch skipped: --ignore-heartbeat\]/);
    const json = await h.run(['compute1', '--fenced', 'bmc', '--ignore-heartbeat', '--json'], env());
    expect(json.json).toMatchObject({ ok: false, code: 'NOVA_FORBIDDEN', heartbeatIgnored: true });
  });

  it('--unset has no watch, whatever the heartbeat', async () => {
    const h = harness({ updatedAt: (_read, now) => now });
    const r = await h.run(['--unset', 'compute1'], env());
    expect(r.code).toBe(0);
    expect(h.events.filter((e) => e.startsWith('nova'))).toEqual(['nova PUT compute1 false']);
  });

  it('a failed lookup during the watch is that failure (Nova\'s PUT never made)', async () => {
    const h = harness({ getFailure: { code: 'NOVA_UNAVAILABLE', message: 'Nova did not answer', request: 'GET /os-services' } });
    const r = await h.run(['compute1', '--fenced', 'bmc', '--json'], env());
    expect(r.code).toBe(4);
    expect(r.json).toMatchObject({ ok: false, code: 'NOVA_UNAVAILABLE', cloud: 'prod' });
    expect(h.events.filter((e) => e.startsWith('nova PUT'))).toEqual([]);
  });
});

describe('FORCE_DOWN_HEARTBEAT_WAIT_SECONDS', () => {
  it.each(['0', '120', ' 20 ', ''])('%j is accepted', async (value) => {
    const r = await harness().run(['compute1', '--fenced', 'bmc'], env({ FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: value }));
    expect(r.code).toBe(0);
  });

  it.each(['121', '-1', '1.5', 'abc', '20s', '0x10', '1e2'])('%j → exit 2 naming the variable, Nova untouched', async (value) => {
    const h = harness();
    const text = await h.run(['compute1', '--fenced', 'bmc'], env({ FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: value }));
    expect(text.code).toBe(2);
    expect(text.err).toBe(`force-down: FORCE_DOWN_HEARTBEAT_WAIT_SECONDS must be a whole number of seconds from 0 to 120 (got "${value.trim()}")`);
    const json = await h.run(['compute1', '--fenced', 'bmc', '--json'], env({ FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: value }));
    expect(json.json).toMatchObject({ ok: false, code: 'CONFIG_INVALID' });
    expect(h.connected).toEqual([]);
  });

  it('is not read where there is no watch: --unset, --ignore-heartbeat, status', async () => {
    const bad = env({ FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: 'abc' });
    const h = harness();
    expect((await h.run(['--unset', 'compute1'], bad)).code).toBe(0);
    expect((await h.run(['compute1', '--fenced', 'bmc', '--ignore-heartbeat'], bad)).code).toBe(0);
    expect((await h.run(['status', 'compute1'], bad)).code).toBe(0);
  });
});
