// Worker-level fuzz of BMC fence evidence (issue 13), property-based with fast-check: arbitrary
// Redfish answers (any power state, malformed JSON, HTML pages, any status code, a system with no
// Reset action or a malformed one, sessions with tokens, error bodies quoting the credentials) are
// served over HTTPS (the fake BMC's test certificate) to the REAL Redfish client, behind the use
// cases' execute path: a request is opened, confirmed "BMC power-off" (bmc) or "power off now"
// (power-off), and its job run as the worker runs it (test/unit/app/harness.ts, its fake Nova).
// Properties: the worker never throws, every request ends in an outcome (succeeded or failed),
// Nova's setForcedDown is called only when some answer said PowerState "Off" (exactly), "bmc"
// never sends a reset, "power-off" sends only a reset that turns power off, and no credential or
// session token is in any outcome, card, audit entry or log line.
// FUZZ_RUNS=<n> sets the number of runs per method (default 300: a few seconds); a failure prints its seed:
// FUZZ_SEED=<seed> replays it.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BmcLookup } from '../../src/app/bmc-port.js';
import { confirmRequest, openRequest } from '../../src/app/requests.js';
import { createRedfishGateway } from '../../src/bmc/redfish.js';
import { POWER_OFF_RESET_TYPES } from '../../src/domain/power.js';
import type { FenceChoice } from '../../src/domain/fencing.js';
import { FAKE_BMC_CA } from '../fakes/redfish.js';
import { startScriptedRedfish, type ScriptedAnswer as Answer, type ScriptedRedfish } from '../fakes/scripted-redfish.js';
import { APPROVER, setup, slash } from '../unit/app/harness.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
if (process.env.FUZZ_SEED) fc.configureGlobal({ seed: Number(process.env.FUZZ_SEED) });

const HOST = 'compute1';
const USER = 'bmcfuzz-SEKRET-user';
const PASSWORD = 'bmcfuzz-SEKRET-pw-90210';
const TOKEN = 'bmcfuzz-SEKRET-token-0badc0de';
const SYSTEM = '/redfish/v1/Systems/1';
const RESET = `${SYSTEM}/Actions/ComputerSystem.Reset`;
const SESSIONS = '/redfish/v1/SessionService/Sessions';

/** Session tokens handed out (by logins answered with X-Auth-Token), and the one not yet logged out. */
let issued: string[] = [];
let live: string | undefined;
let bmcServer: ScriptedRedfish;
let url: string;

beforeAll(async () => {
  bmcServer = await startScriptedRedfish({
    trimTrailingSlash: true,
    htmlAsHtml: true,
    // Each successful login (2xx with X-Auth-Token) hands out a new token; a BMC's error words may quote the
    // live session's. (A token on a refused login is no session: just text.)
    // A login starts the caller's new operation: a BMC echoes its caller's own session, not an older one.
    rewrite: ({ method, path }, { status, headers, text }) => {
      if (method === 'POST' && path === SESSIONS) live = undefined;
      if (headers['x-auth-token'] && status >= 200 && status < 300) live = headers['x-auth-token'] = `${TOKEN}-${issued.push(headers['x-auth-token'])}`;
      if (method === 'DELETE' && path.startsWith(`${SESSIONS}/`)) live = undefined;
      return { headers, text: text.replaceAll(TOKEN, live ?? 'no-session') };
    },
  });
  url = bmcServer.url;
});

afterAll(async () => {
  await bmcServer?.close();
});

// ---------------------------------------------------------------------------------------------
// Arbitrary answers

const secretText = fc.constantFrom(PASSWORD, USER, TOKEN, `Login failed for ${USER} with password ${PASSWORD}`, 'ok');
const html = fc.constantFrom('<!DOCTYPE html><html><head><title>iDRAC Login</title></head><body>Login</body></html>', '<html><body><h1>502 Bad Gateway</h1></body></html>');
const brokenJson = fc.constantFrom('{"PowerState": "Off"', '{"PowerState": Off}', 'Off', '', '\u0000\u0001', '[]', 'null', '{"@odata.id": "/redfish/v1/Systems/1", "PowerState": "Off",}');
const junk = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).map((json) => ({ json })),
  html.map((text) => ({ text })),
  brokenJson.map((text) => ({ text })),
);
const errorBody = fc
  .record({ error: fc.record({ code: fc.constant('Base.1.0.GeneralError'), message: secretText, '@Message.ExtendedInfo': fc.array(fc.record({ Message: secretText }), { maxLength: 2 }) }) })
  .map((json) => ({ json }));
const status = fc.oneof(
  { arbitrary: fc.constant(200), weight: 14 },
  { arbitrary: fc.constantFrom(201, 202, 204, 301, 307, 400, 401, 403, 404, 405, 409, 500, 501, 502, 503, 504), weight: 2 },
);
const powerState = fc.oneof(
  { arbitrary: fc.constantFrom('Off', 'On', 'PoweringOff'), weight: 6 },
  { arbitrary: fc.constantFrom('PoweringOn', 'off', 'OFF', ' Off', 'Off ', 'Paused', '', 'Off\u0000', 'Unknown'), weight: 2 },
  { arbitrary: fc.constantFrom(null, 0, 1, true, ['Off'], { State: 'Off' }), weight: 1 },
  { arbitrary: fc.string({ maxLength: 10 }), weight: 1 },
);
const resetAction = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        target: fc.oneof({ arbitrary: fc.constant(RESET), weight: 5 }, { arbitrary: fc.constantFrom('https://evil.example/reset', '', 'not a path\u0000'), weight: 1 }),
        'ResetType@Redfish.AllowableValues': fc.oneof(
          fc.subarray(['On', 'ForceOff', 'GracefulShutdown', 'PushPowerButton', 'ForceRestart', 'GracefulRestart', 'Nmi', 'PowerCycle']),
          fc.jsonValue({ maxDepth: 1 }),
        ),
      },
      { requiredKeys: ['target'] },
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
const systemDoc = fc.record(
  {
    '@odata.id': fc.oneof({ arbitrary: fc.constant(SYSTEM), weight: 5 }, { arbitrary: fc.jsonValue({ maxDepth: 1 }), weight: 1 }),
    Id: fc.constant('1'),
    HostName: fc.constantFrom(HOST, 'other'),
    PowerState: powerState,
    // Missing (requiredKeys below), malformed, or a Reset action with arbitrary targets and allowed types.
    Actions: fc.oneof({ arbitrary: fc.record({ '#ComputerSystem.Reset': resetAction }), weight: 6 }, { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 }),
  },
  { requiredKeys: ['@odata.id', 'PowerState'] },
);
const answers = (body: fc.Arbitrary<Answer['body']>, headers: fc.Arbitrary<Record<string, string>> = fc.constant({})) =>
  fc.array(fc.record({ status, body, headers }), { minLength: 1, maxLength: 5 });

const scenarioArb = fc.record({
  root: answers(
    fc.oneof(
      {
        weight: 8,
        arbitrary: fc
          .record(
            { Systems: fc.constant({ '@odata.id': '/redfish/v1/Systems' }), SessionService: fc.constant({ '@odata.id': '/redfish/v1/SessionService' }), Links: fc.constant({ Sessions: { '@odata.id': SESSIONS } }) },
            { requiredKeys: ['Systems'] },
          )
          .map((json) => ({ json })),
      },
      { weight: 1, arbitrary: junk },
    ),
  ),
  login: answers(
    fc.oneof(fc.constant(null), errorBody, junk),
    fc.oneof(fc.constant({}), fc.constant({ 'x-auth-token': TOKEN, location: `${SESSIONS}/1` }), fc.constant({ 'x-auth-token': TOKEN })),
  ),
  collection: answers(fc.oneof({ weight: 8, arbitrary: fc.constant({ json: { Members: [{ '@odata.id': SYSTEM }] } }) }, { weight: 1, arbitrary: junk }, { weight: 1, arbitrary: errorBody })),
  // The system, read once or more (the power state polled while it powers off).
  system: answers(fc.oneof({ weight: 10, arbitrary: systemDoc.map((json) => ({ json })) }, { weight: 1, arbitrary: junk }, { weight: 1, arbitrary: errorBody }, { weight: 1, arbitrary: fc.constant(null) })),
  reset: answers(fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: errorBody }, { weight: 1, arbitrary: junk })),
  configured: fc.boolean(),
});
type Generated = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

function install(s: Generated) {
  bmcServer.install(new Map<string, Answer[]>([
    ['/redfish/v1', s.root.slice()],
    [`POST ${SESSIONS}`, s.login.slice()],
    [`DELETE ${SESSIONS}/1`, [{ status: 204, body: null, headers: {} }]],
    ['/redfish/v1/Systems', s.collection.slice()],
    [`POST ${RESET}`, s.reset.slice()],
    [SYSTEM, s.system.slice()],
  ]));
  issued = [];
  live = undefined;
}

/** Some 2xx answer said PowerState "Off", exactly: the only word that may lead to Nova's PUT. */
const someAnswerSaidOff = () => bmcServer.served.some((s) => s.status >= 200 && s.status < 300 && s.body !== null && typeof s.body === 'object' && (s.body as Record<string, unknown>).PowerState === 'Off');
const resetsSent = () => bmcServer.served.filter((s) => s.method === 'POST' && s.path === RESET);

// ---------------------------------------------------------------------------------------------

describe('the worker against arbitrary Redfish answers', () => {
  for (const method of ['bmc', 'power-off'] as const satisfies readonly FenceChoice[]) {
    it(`method ${method}: never throws, always ends in an outcome, calls Nova only on an answer that said Off, and leaks no credential`, async () => {
      const tally = { succeeded: 0, failed: 0, codes: new Map<string, number>() };
      await fc.assert(
        fc.asyncProperty(scenarioArb, async (s) => {
          install(s);
          const bmc: BmcLookup = (cloud, host) =>
            cloud === 'prod' && host.toLowerCase() === HOST
              ? createRedfishGateway(
                  { host, url, ...(s.configured ? { system: SYSTEM } : {}), auth: { username: USER, password: PASSWORD }, tls: { ca: FAKE_BMC_CA, insecure: false } },
                  // The bench's clock: the poll's sleeps move it, so a power-off that never reports Off times out at once.
                  { now: () => h.now(), sleep: async (ms) => void h.advance(ms), requestTimeoutMs: 5_000, connectTimeoutMs: 5_000, pollIntervalMs: 1_000 },
                )
              : undefined;
          const h = setup({ bmc, safety: { confirmationMaxAgeMs: 600_000, heartbeatWaitMs: 20_000, bmcPowerOffTimeoutMs: 10_000 } });

          const opened = await openRequest(h.deps, slash());
          expect(opened.kind).toBe('opened');
          const id = (opened as { request: { id: string } }).request.id;
          await h.drain();
          const confirmed = await confirmRequest(h.deps, { id, userId: APPROVER, userGroups: new Set(), method, note: 'fuzz' });
          expect(confirmed.kind).toBe('done');
          await h.drain(); // must not throw: the worker turns every BMC answer into an outcome

          const final = await h.deps.store.get(id);
          expect(['succeeded', 'failed']).toContain(final?.state);
          expect(final?.outcome?.code).toBeTruthy();
          expect(final?.outcome?.code === 'OK').toBe(final?.state === 'succeeded');
          const forced = h.nova.calls.filter((c) => c.forcedDown);
          if (forced.length > 0) expect(someAnswerSaidOff(), `Nova was called on: ${JSON.stringify(bmcServer.served.map((x) => [x.method, x.path, x.status]))}`).toBe(true);
          if (final?.state === 'succeeded') expect(forced).toEqual([{ host: HOST, forcedDown: true }]);
          else expect(forced).toEqual([]);
          if (method === 'bmc') expect(resetsSent()).toEqual([]);
          for (const r of resetsSent()) expect(POWER_OFF_RESET_TYPES as readonly string[]).toContain((JSON.parse(r.sent) as { ResetType?: unknown }).ResetType);

          // No credential, and no session token the BMC handed out, anywhere a person or a log reader could see it.
          const visible = JSON.stringify([final, h.renders, h.audits, h.logs]);
          for (const secret of [PASSWORD, USER, ...issued, Buffer.from(`${USER}:${PASSWORD}`).toString('base64')]) expect(visible).not.toContain(secret);

          tally[final!.state as 'succeeded' | 'failed']++;
          const code = String(final?.outcome?.code);
          tally.codes.set(code, (tally.codes.get(code) ?? 0) + 1);
        }),
        { numRuns: RUNS },
      );
      // The runs reached both ends often enough to mean something: forced down on an Off, refused otherwise.
      if (process.env.FUZZ_VERBOSE) console.log(method, tally);
      expect(tally.succeeded).toBeGreaterThan(0);
      expect(tally.failed).toBeGreaterThan(0);
      expect(tally.codes.size).toBeGreaterThanOrEqual(3);
    }, 120_000);
  }
});
