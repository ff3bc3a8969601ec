// Real alert labels (issue 15), property-based with fast-check: node_exporter-style `instance`
// values (FQDNs with ports, IPv4 and IPv6 addresses with and without ports, brackets, zones,
// garbage), each source's hostPattern (several valid patterns) and cloudLabel, through every
// parser and through the real router (src/runtime/router.ts). Never a throw, never a 5xx, never
// an IP address or a non-host-name as a host, and every alert is either acted on or listed as
// ignored with its reason.
import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAlerts } from '../../src/alerts/index.js';
import { isIpAddress } from '../../src/alerts/host.js';
import { alertOptions, compileHostPattern, type AlertSource, type HostAlert } from '../../src/alerts/types.js';
import { checkHostName } from '../../src/domain/host.js';
import type { AlertSourceConfig } from '../../src/runtime/alert-routes.js';
import { createRouter } from '../../src/runtime/router.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
if (process.env.FUZZ_SEED) fc.configureGlobal({ seed: Number(process.env.FUZZ_SEED) });

const TOKEN = 'labels-fuzz-token-0123456789';
const PATTERNS = ['^([^.:]+)', '^([^:]+)', '([a-z0-9-]+)\\.dc\\d', '^(?:node-)?([A-Za-z0-9_-]+)', '(?<host>[^.]*)', '^(x*)'];

const octet = fc.integer({ min: 0, max: 255 });
const port = fc.integer({ min: 1, max: 65535 });
const v4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
const hex = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
const v6 = fc.oneof(
  fc.array(hex, { minLength: 8, maxLength: 8 }).map((g) => g.join(':')),
  fc.tuple(fc.array(hex, { minLength: 1, maxLength: 3 }), fc.array(hex, { minLength: 0, maxLength: 3 })).map(([a, b]) => `${a.join(':')}::${b.join(':')}`),
  fc.constantFrom('::1', '::', 'fe80::1%eth0', '::ffff:10.0.0.5', '2001:db8::1'),
);
const ip = fc.oneof(
  v4,
  fc.tuple(v4, port).map(([a, p]) => `${a}:${p}`),
  v6,
  fc.tuple(v6, fc.option(port)).map(([a, p]) => (p === null ? `[${a}]` : `[${a}]:${p}`)),
);
const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/);
const fqdn = fc.tuple(label, fc.constantFrom('dc1.example', 'dc2.example', 'example.org', ''), fc.option(port)).map(([h, d, p]) => `${h}${d ? `.${d}` : ''}${p === null ? '' : `:${p}`}`);
const garbage = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom('', ':9100', '[', ']:9100', '1.2.3', '10.0.0.5.', 'a..b:1', '<!here>', 'x'.repeat(300)));
const instance = fc.oneof({ weight: 4, arbitrary: fqdn }, { weight: 4, arbitrary: ip }, { weight: 2, arbitrary: garbage });
const cloud = fc.oneof(fc.constant(undefined), fc.constantFrom('lab', 'lab2', 'nowhere', '', '<!channel>', 'a b', 'x'.repeat(70)), fc.string({ maxLength: 12 }));
const pattern = fc.option(fc.constantFrom(...PATTERNS), { nil: undefined });

function amBody(values: readonly { instance: string; cloud: string | undefined }[]) {
  return {
    version: '4',
    status: 'firing',
    alerts: values.map((v, i) => ({
      status: i % 3 === 2 ? 'resolved' : 'firing',
      labels: { alertname: 'NodeDown', instance: v.instance, ...(v.cloud === undefined ? {} : { cloud: v.cloud }) },
      fingerprint: `f${i}`,
    })),
  };
}

/** What every source must hold of its host alerts. */
function checkHosts(alerts: readonly HostAlert[]) {
  for (const a of alerts) {
    expect(checkHostName(a.host)).toBeUndefined();
    expect(isIP(a.host)).toBe(0);
    expect(isIpAddress(a.host)).toBe(false);
    if (a.cloud !== undefined) expect(a.cloud).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
  }
}

describe('hostPattern, IP addresses and cloudLabel never throw, and never make an IP a host', () => {
  it('every parser, every pattern: alerts + ignored = what was sent; IPs are ignored as ip-address', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ instance, cloud }), { minLength: 1, maxLength: 12 }), pattern, fc.constantFrom<AlertSource>('alertmanager', 'grafana', 'generic', 'doctor'), (values, hostPattern, source) => {
        const options = alertOptions({ ...(hostPattern ? { hostPattern: compileHostPattern(hostPattern) } : {}), cloudLabel: 'cloud' });
        const body =
          source === 'generic'
            ? values.map((v) => ({ host: v.instance, status: 'firing', labels: v.cloud === undefined ? {} : { cloud: v.cloud } }))
            : source === 'doctor'
              ? values.map((v) => ({ time: '2026-11-25T14:03:10.123456', type: 'compute.host.down', details: { hostname: v.instance, status: 'down' } }))
              : amBody(values);
        const r = parseAlerts(source, body, options);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        checkHosts(r.alerts);
        // Generic with an empty host falls back to labels (none here): no-host. Every alert is accounted for.
        expect(r.alerts.length + r.skipped.length).toBe(values.length);
        for (const s of r.skipped) expect(s.detail?.length ?? 0).toBeLessThan(200);
        const ips = values.filter((v) => v.instance !== '' && isIpAddress(v.instance)).length;
        expect(r.skipped.filter((s) => s.reason === 'ip-address').length).toBeGreaterThanOrEqual(ips);
      }),
      { numRuns: RUNS },
    );
  });

  it('through the router: always 200 with ignored listed (never 4xx/5xx for a valid body), and only host names reach the use case', async () => {
    const received: HostAlert[] = [];
    const configs: Partial<Record<AlertSource, AlertSourceConfig>> = {};
    const route = createRouter({
      slack: async () => {
        throw new Error('not used');
      },
      alerts: async () => ({
        source: (name) => configs[name],
        receive: async (_source, alerts) => {
          received.push(...alerts);
          return { opened: alerts.length, repeats: 0, resolved: 0, recoveryChecks: 0, auto: 0, failed: 0 };
        },
      }),
      now: () => Date.now(),
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ instance, cloud }), { minLength: 1, maxLength: 8 }), pattern, async (values, hostPattern) => {
        configs.alertmanager = { token: TOKEN, autoForceDown: false, cloudLabel: 'cloud', ...(hostPattern ? { hostPattern } : {}) };
        received.length = 0;
        const res = await route({ method: 'POST', path: '/alerts/alertmanager', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(amBody(values)) });
        expect(res.status).toBe(200);
        const answer = JSON.parse(res.body) as { skipped: number; ignored: { reason: string; detail?: string }[] };
        expect(answer.ignored).toHaveLength(Math.min(answer.skipped, 100));
        expect(received.length + answer.skipped).toBe(values.length);
        checkHosts(received);
        for (const i of answer.ignored) expect(['no-host', 'bad-host', 'ip-address', 'host-pattern', 'bad-cloud']).toContain(i.reason);
      }),
      { numRuns: Math.ceil(RUNS / 5) },
    );
  });
});
