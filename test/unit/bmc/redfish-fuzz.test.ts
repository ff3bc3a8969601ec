// Property-based (fast-check): arbitrary Redfish answers (JSON or not, any status, any PowerState,
// sessions with tokens, error bodies that quote the credentials) from an HTTPS server. The client
// never throws, never reports Off unless an answer said PowerState "Off", and no credential or
// session token appears in any outcome or log line.
// FUZZ_RUNS=<n> sets the number of runs (default 150 here); a failure prints its seed: FUZZ_SEED=<seed> replays it.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedfishGateway } from '../../../src/bmc/redfish.js';
import { isOff, type PowerState } from '../../../src/domain/power.js';
import { FAKE_BMC_CA } from '../../fakes/redfish.js';
import { startScriptedRedfish, type ScriptedAnswer as Answer, type ScriptedRedfish } from '../../fakes/scripted-redfish.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
if (process.env.FUZZ_SEED) fc.configureGlobal({ seed: Number(process.env.FUZZ_SEED) });

const USER = 'fuzz-SEKRET-user';
const PASSWORD = 'fuzz-SEKRET-pw-31337';
const TOKEN = 'fuzz-SEKRET-token-abcdef';

/** Paths as sent, every body labelled JSON, answers as scripted. */
let bmcServer: ScriptedRedfish;
let url: string;

beforeAll(async () => {
  bmcServer = await startScriptedRedfish();
  url = bmcServer.url;
});

afterAll(async () => {
  await bmcServer?.close();
});

const secretText = fc.constantFrom(PASSWORD, USER, TOKEN, `Invalid password ${PASSWORD} for ${USER}`, 'ok');
const powerState = fc.oneof(
  { arbitrary: fc.constant('Off'), weight: 3 },
  fc.constantFrom('On', 'Off', 'PoweringOn', 'PoweringOff', 'off', 'OFF', ' Off', 'Off ', '', 'Paused'),
  fc.string({ maxLength: 8 }),
  fc.constantFrom(null, 0, 1, true, false, ['Off'], { State: 'Off' }, 'Off\u0000'),
);
const odata = (paths: string[]) => fc.record({ '@odata.id': fc.constantFrom(...paths) });
const SYSTEMS = ['/redfish/v1/Systems/1', '/redfish/v1/Systems/2', '/redfish/v1/Systems/compute7', 'https://evil.example/redfish/v1/Systems/1', '//evil.example/x'];
const errorBody = fc.record({ error: fc.record({ code: fc.constant('Base.1.0.GeneralError'), message: secretText, '@Message.ExtendedInfo': fc.array(fc.record({ Message: secretText }), { maxLength: 2 }) }) });
const junk = fc.oneof(fc.jsonValue({ maxDepth: 3 }).map((json) => ({ json })), fc.constantFrom({ text: '<html><body>Login</body></html>' }, { text: '{"PowerState": "Off"' }, { text: 'Off' }));

const system = fc.record(
  {
    '@odata.id': fc.oneof(fc.constantFrom(...SYSTEMS), fc.jsonValue({ maxDepth: 1 })),
    Name: fc.oneof(fc.constantFrom('compute7', 'COMPUTE7', 'System'), fc.string({ maxLength: 6 })),
    HostName: fc.oneof(fc.constantFrom('compute7', 'other'), fc.jsonValue({ maxDepth: 1 })),
    PowerState: powerState,
    Actions: fc.oneof(
      fc.record({
        '#ComputerSystem.Reset': fc.record(
          {
            target: fc.constantFrom('/redfish/v1/Systems/1/Actions/ComputerSystem.Reset', 'https://evil.example/reset', 'not a url \u0000'),
            'ResetType@Redfish.AllowableValues': fc.oneof(fc.subarray(['On', 'ForceOff', 'GracefulShutdown', 'PushPowerButton', 'ForceRestart', 'Nmi']), fc.jsonValue({ maxDepth: 1 })),
            '@Redfish.ActionInfo': fc.constantFrom('/redfish/v1/Systems/1/ResetActionInfo'),
          },
          { requiredKeys: ['target'] },
        ),
      }),
      fc.jsonValue({ maxDepth: 2 }),
    ),
  },
  { requiredKeys: [] },
);

const answer = (body: fc.Arbitrary<Answer['body']>) =>
  fc.record({
    // Mostly 200, so that runs get past the service root and the login to the power state.
    status: fc.oneof({ arbitrary: fc.constant(200), weight: 5 }, { arbitrary: fc.constantFrom(201, 204, 307, 401, 403, 404, 405, 500, 501, 503), weight: 2 }),
    body,
    headers: fc.oneof(
      fc.constant({}),
      fc.record({ location: fc.constantFrom(...SYSTEMS, '/redfish/v1/SessionService/Sessions/1', 'https://evil.example/') }, { requiredKeys: [] }),
      fc.record({ 'x-auth-token': fc.constant(TOKEN), location: fc.constantFrom('/redfish/v1/SessionService/Sessions/1', 'https://evil.example/s/1') }, { requiredKeys: ['x-auth-token'] }),
    ),
  });
const answers = (body: fc.Arbitrary<Answer['body']>) => fc.array(answer(body), { minLength: 1, maxLength: 4 });

const scenarioArb = fc.record({
  root: answers(
    fc.oneof(
      {
        weight: 8,
        arbitrary: fc
          .record(
            {
              Systems: odata(['/redfish/v1/Systems', '/redfish/v1/Systems/']),
              SessionService: odata(['/redfish/v1/SessionService']),
              Links: fc.record({ Sessions: odata(['/redfish/v1/SessionService/Sessions']) }),
            },
            { requiredKeys: [] },
          )
          .map((json) => ({ json })),
      },
      junk,
      fc.constant(null),
    ),
  ),
  sessions: answers(fc.oneof(errorBody.map((json) => ({ json })), fc.constant(null), junk)),
  collection: answers(
    fc.oneof(
      { weight: 6, arbitrary: fc.record({ Members: fc.array(odata(SYSTEMS.slice(0, 1)), { minLength: 1, maxLength: 1 }) }).map((json) => ({ json })) },
      { weight: 2, arbitrary: fc.record({ Members: fc.array(odata(SYSTEMS), { maxLength: 3 }) }).map((json) => ({ json })) },
      junk,
      errorBody.map((json) => ({ json })),
    ),
  ),
  system: answers(fc.oneof({ weight: 8, arbitrary: system.map((json) => ({ json })) }, junk, errorBody.map((json) => ({ json })), fc.constant(null))),
  reset: answers(fc.oneof(fc.constant(null), errorBody.map((json) => ({ json })), junk)),
  actionInfo: answers(fc.oneof(fc.record({ Parameters: fc.array(fc.record({ Name: fc.constant('ResetType'), AllowableValues: fc.subarray(['ForceOff', 'On', 'GracefulShutdown']) })) }).map((json) => ({ json })), junk)),
  configured: fc.option(fc.constantFrom(...SYSTEMS.slice(0, 3)), { nil: undefined }),
  insecure: fc.boolean(),
});

type Generated = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

function install(s: Generated) {
  bmcServer.install(new Map<string, Answer[]>([
    ['/redfish/v1', s.root.slice()],
    ['/redfish/v1/SessionService/Sessions', s.sessions.slice()],
    ['/redfish/v1/Systems', s.collection.slice()],
    ['/redfish/v1/Systems/1/Actions/ComputerSystem.Reset', s.reset.slice()],
    ['/redfish/v1/Systems/1/ResetActionInfo', s.actionInfo.slice()],
    ['/redfish/v1/SessionService/Sessions/1', [{ status: 204, body: null, headers: {} }]],
    ['*', s.system.slice()],
  ]));
}

function checkOutcome(outcome: unknown, lines: string[]) {
  const all = JSON.stringify([outcome, lines]);
  // The token is a secret once the BMC handed it out (a successful login); before, it is just text.
  const handedOut = bmcServer.served.some((s) => s.path === '/redfish/v1/SessionService/Sessions' && s.token && s.status >= 200 && s.status < 300);
  for (const secret of [PASSWORD, USER, ...(handedOut ? [TOKEN] : []), Buffer.from(`${USER}:${PASSWORD}`).toString('base64')]) expect(all).not.toContain(secret);
  // Off only when some answer said PowerState "Off", exactly.
  const saidOff = bmcServer.served.some((s) => s.body !== null && typeof s.body === 'object' && (s.body as Record<string, unknown>).PowerState === 'Off');
  return saidOff;
}

describe('Redfish client against arbitrary answers', () => {
  it('never throws, reports Off only when an answer said PowerState "Off", and leaks no credential or token', async () => {
    const reads: PowerState[] = [];
    let offs = 0;
    await fc.assert(
      fc.asyncProperty(scenarioArb, fc.boolean(), async (s, powerOff) => {
        install(s);
        const lines: string[] = [];
        const logger = {
          info: (m: string, d?: Record<string, unknown>) => lines.push(JSON.stringify({ m, ...d })),
          warn: (m: string, d?: Record<string, unknown>) => lines.push(JSON.stringify({ m, ...d })),
        };
        let clock = 0;
        const g = createRedfishGateway(
          {
            host: 'compute7',
            url,
            ...(s.configured ? { system: s.configured } : {}),
            auth: { username: USER, password: PASSWORD },
            tls: s.insecure ? { insecure: true } : { ca: FAKE_BMC_CA, insecure: false },
          },
          { logger, requestTimeoutMs: 5_000, pollIntervalMs: 1_000, now: () => clock, sleep: async (ms) => void (clock += ms) },
        );
        if (powerOff) {
          const o = await g.powerOff({ timeoutMs: 4_000 });
          const saidOff = checkOutcome(o, lines);
          if (o.ok) {
            expect(saidOff).toBe(true);
            expect(isOff(o.value.reading)).toBe(true);
            expect(o.value.reading.powerState).toBe('Off');
            offs++;
          } else {
            expect(o.failure.code).toMatch(/^BMC_/);
          }
        } else {
          const o = await g.readPower();
          const saidOff = checkOutcome(o, lines);
          if (o.ok && isOff(o.value)) expect(saidOff).toBe(true);
          if (o.ok) reads.push(o.value.powerState);
          if (!o.ok) expect(o.failure.code).toMatch(/^BMC_/);
        }
      }),
      { numRuns: RUNS },
    );
    // The runs reached the power state, and powered off, often enough to mean something.
    expect(reads.length).toBeGreaterThan(RUNS / 20);
    expect(offs).toBeGreaterThan(0);
  }, 240_000);
});
