// The Redfish client against a fake BMC speaking Redfish over HTTPS (test/fakes/redfish.ts).
import { afterEach, describe, expect, it } from 'vitest';
import type { BmcGateway } from '../../../src/app/bmc-port.js';
import { createBmcLookup, createRedfishGateway, type RedfishDeps } from '../../../src/bmc/redfish.js';
import type { BmcTarget } from '../../../src/config/bmc.js';
import type { Failure, Outcome } from '../../../src/domain/failure.js';
import type { PowerState } from '../../../src/domain/power.js';
import { FAKE_BMC_CA, OTHER_CA, startFakeRedfish, type FakeRedfish, type FakeRedfishOptions } from '../../fakes/redfish.js';

/** Distinctive credentials: any text quoting them leaks a secret. */
const USER = 'bmc-operator-SEKRET-user';
const PASSWORD = 'SEKRET-bmc-pw-9f8e7d';
/** Generous: a deadline turns "never" into a failure; it is not a measure of speed. */
const SLOW = 30_000;

const fakes: FakeRedfish[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function bmc(opts: FakeRedfishOptions = {}): Promise<FakeRedfish> {
  const f = await startFakeRedfish({ username: USER, password: PASSWORD, resetDelayMs: 50, ...opts });
  fakes.push(f);
  return f;
}

function targetOf(f: FakeRedfish, over: Partial<BmcTarget> = {}): BmcTarget {
  return { host: 'compute7', url: f.url, auth: { username: USER, password: PASSWORD }, tls: { ca: FAKE_BMC_CA, insecure: false }, ...over };
}

/** Log lines, as the logger would write them. */
function capture() {
  const lines: string[] = [];
  const logger = {
    info: (m: string, d?: Record<string, unknown>) => lines.push(JSON.stringify({ m, ...d })),
    warn: (m: string, d?: Record<string, unknown>) => lines.push(JSON.stringify({ m, ...d })),
  };
  return { lines, logger };
}

function gateway(f: FakeRedfish, over: Partial<BmcTarget> = {}, deps: RedfishDeps = {}) {
  const log = capture();
  const g = createRedfishGateway(targetOf(f, over), { pollIntervalMs: 20, logger: log.logger, ...deps });
  return { g, lines: log.lines };
}

function failureOf<T>(o: Outcome<T>): Failure {
  if (o.ok) throw new Error(`expected a failure, got ${JSON.stringify(o.value)}`);
  return o.failure;
}

function valueOf<T>(o: Outcome<T>): T {
  if (!o.ok) throw new Error(`expected success, got ${o.failure.code}: ${o.failure.message}`);
  return o.value;
}

/** No credential, and no session token the fake handed out, in any text we produced. */
function expectNoSecrets(f: FakeRedfish, ...texts: unknown[]) {
  const all = JSON.stringify(texts);
  expect(all).not.toContain(PASSWORD);
  expect(all).not.toContain(USER);
  expect(all).not.toContain(Buffer.from(`${USER}:${PASSWORD}`).toString('base64'));
  for (const t of f.openSessions()) expect(all).not.toContain(t);
}

describe('reading the power state', () => {
  it('reads PowerState of the only system over HTTPS trusting the caCert, with HTTP Basic (no SessionService, like sushy-tools)', async () => {
    const f = await bmc({ systems: [{ id: '1', powerState: 'On' }] });
    const { g, lines } = gateway(f);

    const r = valueOf(await g.readPower());

    expect(r).toMatchObject({ powerState: 'On', system: '/redfish/v1/Systems/1' });
    expect(g.endpoint).toBe(f.url);
    expect(f.requests.map((q) => `${q.method} ${q.path} ${q.auth}`)).toEqual(['GET /redfish/v1 none', 'GET /redfish/v1/Systems basic', 'GET /redfish/v1/Systems/1 basic']);
    expectNoSecrets(f, lines);
  });

  it('reads Off as Off, and a state outside the four as read', async () => {
    const f = await bmc({ systems: [{ id: 'a', powerState: 'Off' }] });
    expect(valueOf(await gateway(f).g.readPower()).powerState).toBe('Off');
    f.setPowerState('a', 'Paused');
    expect(valueOf(await gateway(f).g.readPower()).powerState).toBe('Paused');
  });

  it('logs in with a session when the service offers one, uses X-Auth-Token, and deletes the session afterwards', async () => {
    const f = await bmc({ sessions: true });
    const { g, lines } = gateway(f);

    const r = await g.readPower();

    expect(valueOf(r).powerState).toBe('On');
    expect(f.sessionsCreated()).toBe(1);
    expect(f.openSessions()).toEqual([]);
    const seen = f.requests.map((q) => `${q.method} ${q.path.replace(/Sessions\/.*/, 'Sessions/<id>')} ${q.auth}`);
    expect(seen).toEqual([
      'GET /redfish/v1 none',
      'POST /redfish/v1/SessionService/Sessions none',
      'GET /redfish/v1/Systems token',
      'GET /redfish/v1/Systems/1 token',
      'DELETE /redfish/v1/SessionService/Sessions/<id> token',
    ]);
    expectNoSecrets(f, r, lines);
  });

  it('deletes the session also when the operation fails', async () => {
    const f = await bmc({ sessions: true });
    const r = await gateway(f, { system: '/redfish/v1/Systems/nope' }).g.readPower();

    expect(failureOf(r).code).toBe('BMC_CONFIG');
    expect(f.sessionsCreated()).toBe(1);
    expect(f.openSessions()).toEqual([]);
  });

  it('wrong credentials: BMC_CONFIG naming username and password, never their values (Basic and session)', async () => {
    for (const sessions of [false, true]) {
      const f = await bmc({ sessions });
      const { g, lines } = gateway(f, { auth: { username: USER, password: 'SEKRET-wrong-pw' } });
      const fl = failureOf(await g.readPower());
      expect(fl).toMatchObject({ code: 'BMC_CONFIG', status: 401 });
      expect(fl.message).toContain('credentials');
      expect(JSON.stringify([fl, lines])).not.toContain('SEKRET-wrong-pw');
      expectNoSecrets(f, fl, lines);
    }
  });

  it('a service root that wants credentials is read again with Basic', async () => {
    const f = await bmc({ rootNeedsAuth: true });
    expect(valueOf(await gateway(f).g.readPower()).powerState).toBe('On');
  });
});

describe('choosing the system', () => {
  const three = [
    { id: 'a1', name: 'compute6', hostName: 'compute6.example.org' },
    { id: 'b2', name: 'Blade 2', hostName: 'COMPUTE7' },
    { id: 'c3', name: 'compute8' },
  ];

  it('several systems: the one whose HostName equals the host (case-insensitively)', async () => {
    const f = await bmc({ systems: three });
    expect(valueOf(await gateway(f).g.readPower()).system).toBe('/redfish/v1/Systems/b2');
  });

  it('several systems: the one whose Name equals the host', async () => {
    const f = await bmc({ systems: three });
    expect(valueOf(await gateway(f, { host: 'compute8' }).g.readPower()).system).toBe('/redfish/v1/Systems/c3');
  });

  it('none matches: BMC_CONFIG naming every choice', async () => {
    const f = await bmc({ systems: three });
    const fl = failureOf(await gateway(f, { host: 'compute9' }).g.readPower());
    expect(fl.code).toBe('BMC_CONFIG');
    expect(fl.message).toContain('none has HostName or Name compute9');
    for (const id of ['a1', 'b2', 'c3']) expect(fl.message).toContain(`/redfish/v1/Systems/${id}`);
    expect(fl.message).toContain('"Blade 2"');
  });

  it('two match: BMC_CONFIG naming both', async () => {
    const f = await bmc({ systems: [...three, { id: 'd4', name: 'compute7' }] });
    const fl = failureOf(await gateway(f).g.readPower());
    expect(fl.code).toBe('BMC_CONFIG');
    expect(fl.message).toContain('/redfish/v1/Systems/b2, /redfish/v1/Systems/d4');
  });

  it('a configured system by name follows the 307 to its id', async () => {
    const f = await bmc({ systems: three });
    const r = valueOf(await gateway(f, { host: 'compute9', system: '/redfish/v1/Systems/compute8' }).g.readPower());
    expect(r.system).toBe('/redfish/v1/Systems/c3');
    expect(f.requests.some((q) => q.path === '/redfish/v1/Systems/compute8' && q.status === 307)).toBe(true);
  });

  it('a configured system the BMC does not have: BMC_CONFIG', async () => {
    const f = await bmc();
    const fl = failureOf(await gateway(f, { system: '/redfish/v1/Systems/42' }).g.readPower());
    expect(fl).toMatchObject({ code: 'BMC_CONFIG', status: 404 });
    expect(fl.message).toContain('/redfish/v1/Systems/42');
  });

  it('an empty Systems collection: BMC_CONFIG', async () => {
    const f = await bmc({ systems: [] });
    expect(failureOf(await gateway(f).g.readPower()).code).toBe('BMC_CONFIG');
  });
});

describe('TLS', () => {
  it('a caCert that does not sign the BMC certificate: BMC_UNREACHABLE (tls), no request reaches the BMC', async () => {
    const f = await bmc();
    const fl = failureOf(await gateway(f, { tls: { ca: OTHER_CA, insecure: false } }).g.readPower());
    expect(fl).toMatchObject({ code: 'BMC_UNREACHABLE', reason: 'tls' });
    expect(fl.message).toContain('caCert');
    expect(f.requests).toEqual([]);
  });

  it('no caCert: the self-signed certificate is refused (system roots only)', async () => {
    const f = await bmc();
    expect(failureOf(await gateway(f, { tls: { insecure: false } }).g.readPower())).toMatchObject({ code: 'BMC_UNREACHABLE', reason: 'tls' });
  });

  it('insecure: true accepts it', async () => {
    const f = await bmc();
    expect(valueOf(await gateway(f, { tls: { insecure: true } }).g.readPower()).powerState).toBe('On');
  });
});

describe('powering off', () => {
  it('sends ForceOff to the advertised target, then polls until Off; progress shows the states read', async () => {
    const f = await bmc({ sessions: true });
    const { g, lines } = gateway(f);
    const states: PowerState[] = [];

    const r = valueOf(await g.powerOff({ timeoutMs: SLOW, onProgress: (s) => states.push(s) }));

    expect(r).toMatchObject({ resetType: 'ForceOff', graceful: false, reading: { powerState: 'Off', system: '/redfish/v1/Systems/1' } });
    expect(r.sentAt).not.toBeNull();
    expect(r.offAt).toBeGreaterThanOrEqual(r.sentAt!);
    expect(f.resets()).toEqual([{ system: '1', resetType: 'ForceOff' }]);
    expect(f.powerState()).toBe('Off');
    expect(states[0]).toBe('On');
    expect(states.at(-1)).toBe('Off');
    expect(f.openSessions()).toEqual([]);
    expect(lines.some((l) => l.includes('bmc reset sent') && l.includes('ForceOff'))).toBe(true);
    expectNoSecrets(f, r, lines);
  }, SLOW);

  it('a host that already reads Off is not reset', async () => {
    const f = await bmc({ systems: [{ id: '1', powerState: 'Off' }] });
    const r = valueOf(await gateway(f).g.powerOff({ timeoutMs: SLOW }));
    expect(r).toMatchObject({ resetType: null, sentAt: null, reading: { powerState: 'Off' } });
    expect(f.resets()).toEqual([]);
  });

  it('without ForceOff among the allowable values: the next in the documented order (GracefulShutdown)', async () => {
    const f = await bmc({ systems: [{ id: '1', allowableResetTypes: ['On', 'GracefulRestart', 'PushPowerButton', 'GracefulShutdown'] }] });
    const r = valueOf(await gateway(f).g.powerOff({ timeoutMs: SLOW }));
    expect(r).toMatchObject({ resetType: 'GracefulShutdown', graceful: true });
    expect(f.resets()).toEqual([{ system: '1', resetType: 'GracefulShutdown' }]);
  }, SLOW);

  it('allowable values from the ActionInfo resource (OpenBMC style)', async () => {
    const f = await bmc({ systems: [{ id: '1', actionInfo: true, allowableResetTypes: ['On', 'PushPowerButton'] }] });
    const r = valueOf(await gateway(f).g.powerOff({ timeoutMs: SLOW }));
    expect(r.resetType).toBe('PushPowerButton');
    expect(f.powerState()).toBe('Off');
  }, SLOW);

  it('no allowable values advertised: ForceOff (Redfish: all allowed)', async () => {
    const f = await bmc({ systems: [{ id: '1', allowableResetTypes: null }] });
    expect(valueOf(await gateway(f).g.powerOff({ timeoutMs: SLOW })).resetType).toBe('ForceOff');
  }, SLOW);

  it('only graceful-restart and on types: BMC_REJECTED listing them, nothing sent', async () => {
    const f = await bmc({ systems: [{ id: '1', allowableResetTypes: ['On', 'ForceRestart', 'Nmi'] }] });
    const fl = failureOf(await gateway(f).g.powerOff({ timeoutMs: SLOW }));
    expect(fl.code).toBe('BMC_REJECTED');
    expect(fl.message).toContain('"ForceRestart"');
    expect(f.resets()).toEqual([]);
    expect(f.requests.some((q) => q.method === 'POST')).toBe(false);
  });

  it('only PushPowerButton while the host reads PoweringOn: not pressed (it toggles)', async () => {
    const f = await bmc({ systems: [{ id: '1', powerState: 'PoweringOn', allowableResetTypes: ['PushPowerButton'] }] });
    expect(failureOf(await gateway(f).g.powerOff({ timeoutMs: SLOW })).code).toBe('BMC_REJECTED');
    expect(f.resets()).toEqual([]);
  });

  it('no Reset action: BMC_REJECTED', async () => {
    const f = await bmc({ systems: [{ id: '1', noResetAction: true }] });
    expect(failureOf(await gateway(f).g.powerOff({ timeoutMs: SLOW })).code).toBe('BMC_REJECTED');
  });

  it('501 on the Reset: BMC_REJECTED with the BMC words in detail, one POST only (nothing else tried)', async () => {
    const f = await bmc({ systems: [{ id: '1', rejectResetTypes: ['ForceOff'] }] });
    const fl = failureOf(await gateway(f).g.powerOff({ timeoutMs: SLOW }));
    expect(fl).toMatchObject({ code: 'BMC_REJECTED', status: 501, request: 'POST /redfish/v1/Systems/1/Actions/ComputerSystem.Reset' });
    expect(fl.message).toContain('501');
    expect(fl.detail).toContain('not supported');
    expect(f.requests.filter((q) => q.method === 'POST')).toHaveLength(1);
    expect(f.powerState()).toBe('On');
  });

  it('a BMC that lies (accepts, never reaches Off): BMC_POWER_OFF_TIMEOUT with the last state, on a fake clock', async () => {
    const f = await bmc({ mode: 'lie' });
    let clock = 1_000_000;
    const states: PowerState[] = [];
    const { g } = gateway(f, {}, { now: () => clock, sleep: async (ms) => void (clock += ms), pollIntervalMs: 1000 });

    const fl = failureOf(await g.powerOff({ timeoutMs: 120_000, onProgress: (s) => states.push(s) }));

    expect(fl.code).toBe('BMC_POWER_OFF_TIMEOUT');
    expect(fl.message).toContain('120 s');
    expect(fl.message).toContain('last read On');
    expect(f.resets()).toEqual([{ system: '1', resetType: 'ForceOff' }]);
    // Polled about once a second for the 120 s, then gave up.
    expect(states.length).toBeGreaterThanOrEqual(100);
    expect(states.length).toBeLessThanOrEqual(125);
  }, SLOW);

  it('the BMC stops answering after the reset: BMC_POWER_OFF_TIMEOUT saying the polls fail', async () => {
    const f = await bmc({ mode: 'lie' });
    let clock = 0;
    const { g } = gateway(f, {}, {
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
        f.mode = 'html';
      },
    });
    const fl = failureOf(await g.powerOff({ timeoutMs: 10_000 }));
    expect(fl.code).toBe('BMC_POWER_OFF_TIMEOUT');
    expect(fl.message).toContain('not a Redfish answer');
  }, SLOW);

  it('the signal stops the wait', async () => {
    const f = await bmc({ mode: 'lie' });
    const ac = new AbortController();
    const { g } = gateway(f);
    const fl = failureOf(await g.powerOff({ timeoutMs: 600_000, signal: ac.signal, onProgress: () => f.resets().length && ac.abort() }));
    expect(fl.code).toBe('BMC_UNREACHABLE');
    expect(fl.message).toContain('cancelled');
  }, SLOW);
});

describe('a BMC that does not answer usefully', () => {
  it('hangs: each request times out, BMC_UNREACHABLE (timeout)', async () => {
    const f = await bmc({ mode: 'hang' });
    const fl = failureOf(await gateway(f, {}, { requestTimeoutMs: 200 }).g.readPower());
    expect(fl).toMatchObject({ code: 'BMC_UNREACHABLE', reason: 'timeout', request: 'GET /redfish/v1' });
    expect(fl.message).toContain('did not answer');
  }, SLOW);

  it('answers HTML: BMC_UNREACHABLE (not-redfish)', async () => {
    const f = await bmc({ mode: 'html' });
    const fl = failureOf(await gateway(f).g.readPower());
    expect(fl).toMatchObject({ code: 'BMC_UNREACHABLE', reason: 'not-redfish' });
    expect(fl.message).toContain('not a Redfish');
  });

  it('refuses connections: BMC_UNREACHABLE (refused)', async () => {
    const f = await bmc();
    const url = f.url;
    await f.close();
    fakes.splice(fakes.indexOf(f), 1);
    const g = createRedfishGateway({ host: 'compute7', url, auth: { username: USER, password: PASSWORD }, tls: { insecure: true } });
    expect(failureOf(await g.readPower())).toMatchObject({ code: 'BMC_UNREACHABLE', reason: 'refused' });
  });
});

describe('createBmcLookup', () => {
  it('a host with an entry gets a gateway (case-insensitively); one without gets undefined', async () => {
    const f = await bmc();
    const lookup = createBmcLookup({ prod: { hosts: { Compute7: { url: f.url, username: USER, password: PASSWORD, caCert: FAKE_BMC_CA } } } });
    const g: BmcGateway | undefined = lookup('prod', 'COMPUTE7');
    expect(g?.endpoint).toBe(f.url);
    expect(valueOf(await g!.readPower()).powerState).toBe('On');
    expect(lookup('prod', 'compute8')).toBeUndefined();
    expect(lookup('other', 'compute7')).toBeUndefined();
  });
});
