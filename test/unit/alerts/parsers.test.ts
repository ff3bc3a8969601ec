import { describe, expect, it } from 'vitest';
import { parseAlertmanager } from '../../../src/alerts/alertmanager.js';
import { doctorTimeToIso, parseDoctor } from '../../../src/alerts/doctor.js';
import { parseGeneric } from '../../../src/alerts/generic.js';
import { parseGrafana } from '../../../src/alerts/grafana.js';
import { DEFAULT_ALERT_OPTIONS, alertOptions, compileHostPattern, type HostAlert, type ParseResult } from '../../../src/alerts/types.js';
import { ZERO_TIME, aDoctorEvent, aGenericAlert, aGrafanaAlert, aGrafanaWebhook, anAmAlert, anAmWebhook } from './builders.js';

const OPTS = alertOptions();

function ok(r: ParseResult): Extract<ParseResult, { ok: true }> {
  if (!r.ok) throw new Error(`expected ok, got ${r.error}`);
  return r;
}
function err(r: ParseResult): string {
  if (r.ok) throw new Error('expected an error');
  return r.error;
}
const only = (r: ParseResult): HostAlert => {
  const o = ok(r);
  expect(o.alerts).toHaveLength(1);
  return o.alerts[0]!;
};

describe('options', () => {
  it('defaults to host, hostname, nodename, instance and fenced=true', () => {
    expect(OPTS).toEqual({ hostLabels: ['host', 'hostname', 'nodename', 'instance'], evidenceLabel: { name: 'fenced', value: 'true' } });
    expect(DEFAULT_ALERT_OPTIONS.hostLabels).toEqual(OPTS.hostLabels);
  });
});

describe('parseAlertmanager', () => {
  it('normalizes a firing alert from a v4 webhook', () => {
    expect(only(parseAlertmanager(anAmWebhook(), OPTS))).toEqual({
      source: 'alertmanager',
      host: 'compute1.example.org',
      status: 'firing',
      fingerprint: '3a1b2c3d4e5f6a7b',
      alertName: 'NovaComputeHostDown',
      summary: 'compute1 has stopped answering',
      link: 'http://prometheus.example.org:9090/graph?g0.expr=up%7Bjob%3D%22node%22%7D+%3D%3D+0&g0.tab=1',
      startsAt: '2026-11-25T14:03:10.123Z',
      fencedEvidence: false,
    });
  });

  it('reads a resolved alert (endsAt set) as resolved', () => {
    const a = anAmAlert({ status: 'resolved', endsAt: '2026-11-25T14:20:00Z' });
    const alert = only(parseAlertmanager(anAmWebhook([a], { status: 'resolved' }), OPTS));
    expect(alert.status).toBe('resolved');
    expect(alert.fingerprint).toBe('3a1b2c3d4e5f6a7b');
  });

  it('uses per-alert status in a mixed group', () => {
    const r = ok(
      parseAlertmanager(
        anAmWebhook([anAmAlert({}, { instance: 'c1:9100' }), anAmAlert({ status: 'resolved', fingerprint: 'ff' }, { instance: 'c2:9100' })]),
        OPTS,
      ),
    );
    expect(r.alerts.map((a) => [a.host, a.status])).toEqual([
      ['c1', 'firing'],
      ['c2', 'resolved'],
    ]);
  });

  it('turns a group of 200 hosts into 200 alerts', () => {
    const alerts = Array.from({ length: 200 }, (_, i) => anAmAlert({ fingerprint: `fp${i}` }, { instance: `compute${i}:9100` }));
    const r = ok(parseAlertmanager(anAmWebhook(alerts), OPTS));
    expect(r.alerts).toHaveLength(200);
    expect(new Set(r.alerts.map((a) => a.host)).size).toBe(200);
    expect(r.alerts[199]!.host).toBe('compute199');
    expect(r.skipped).toEqual([]);
  });

  it('accepts 1000 alerts and refuses 1001, naming the field', () => {
    const mk = (n: number) => Array.from({ length: n }, (_, i) => anAmAlert({ fingerprint: `fp${i}` }, { instance: `c${i}` }));
    expect(ok(parseAlertmanager(anAmWebhook(mk(1000)), OPTS)).alerts).toHaveLength(1000);
    expect(err(parseAlertmanager(anAmWebhook(mk(1001)), OPTS))).toMatch(/^alerts: /);
  });

  it('prefers host labels in order: host, hostname, nodename, instance', () => {
    const labels = { host: 'h-host', hostname: 'h-hostname', nodename: 'h-node', instance: 'h-inst:9100' };
    expect(only(parseAlertmanager(anAmWebhook([anAmAlert({}, labels)]), OPTS)).host).toBe('h-host');
    const { host: _h, ...noHost } = labels;
    expect(only(parseAlertmanager(anAmWebhook([anAmAlert({}, noHost)]), OPTS)).host).toBe('h-hostname');
    expect(only(parseAlertmanager(anAmWebhook([anAmAlert({}, { nodename: 'n1', instance: 'i1:9100' })]), OPTS)).host).toBe('n1');
  });

  it('honours configured host labels', () => {
    const opts = alertOptions({ hostLabels: ['openstack_host'] });
    const a = anAmAlert({}, { openstack_host: 'compute9', instance: 'compute1:9100' });
    expect(only(parseAlertmanager(anAmWebhook([a]), opts)).host).toBe('compute9');
  });

  it('skips (does not fail on) an alert with no host label', () => {
    const a = anAmAlert({ fingerprint: 'nohost' });
    delete (a['labels'] as Record<string, string>)['instance'];
    const r = ok(parseAlertmanager(anAmWebhook([a, anAmAlert()]), OPTS));
    expect(r.alerts).toHaveLength(1);
    expect(r.skipped).toEqual([{ reason: 'no-host', fingerprint: 'nohost', alertName: 'NovaComputeHostDown', detail: 'no host label present' }]);
  });

  it('treats an empty host label as absent', () => {
    expect(only(parseAlertmanager(anAmWebhook([anAmAlert({}, { host: '', instance: 'c7:9100' })]), OPTS)).host).toBe('c7');
  });

  it.each([
    ['[::1]:9100', 'ip-address', 'is an IP address, not a host name'],
    ['::1', 'ip-address', 'is an IP address, not a host name'],
    ['10.0.0.5:9100', 'ip-address', 'is an IP address, not a host name'],
    ['10.0.0.5', 'ip-address', 'is an IP address, not a host name'],
    ['[2001:db8::1]:9100', 'ip-address', 'is an IP address, not a host name'],
  ])('ignores an IP address %s with the reason', (instance, reason, detail) => {
    const r = ok(parseAlertmanager(anAmWebhook([anAmAlert({}, { instance })]), OPTS));
    expect(r.alerts).toEqual([]);
    expect(r.skipped).toEqual([{ reason, fingerprint: '3a1b2c3d4e5f6a7b', alertName: 'NovaComputeHostDown', detail: `label instance: ${JSON.stringify(instance)} ${detail}` }]);
  });

  it.each([
    ['compute 1', 'bad-label'],
    ['compute1/../x', 'bad-label'],
    ['http://compute1:9100/metrics', 'bad-label'],
  ])('skips a bad host %s as bad-host', (instance, detail) => {
    const r = ok(parseAlertmanager(anAmWebhook([anAmAlert({}, { instance })]), OPTS));
    expect(r.alerts).toEqual([]);
    expect(r.skipped).toHaveLength(1);
    expect(r.skipped[0]!.reason).toBe('bad-host');
    expect(r.skipped[0]!.detail).toContain(detail);
  });

  it('falls back to a stable hash of sorted labels when there is no fingerprint', () => {
    const a1 = anAmAlert({ fingerprint: undefined }, {});
    const labels = a1['labels'] as Record<string, string>;
    const reversed = Object.fromEntries(Object.entries(labels).reverse());
    const a2 = { ...a1, labels: reversed };
    const f1 = only(parseAlertmanager(anAmWebhook([a1]), OPTS)).fingerprint;
    const f2 = only(parseAlertmanager(anAmWebhook([a2]), OPTS)).fingerprint;
    expect(f1).toMatch(/^[0-9a-f]{16}$/);
    expect(f2).toBe(f1);
    const f3 = only(parseAlertmanager(anAmWebhook([anAmAlert({ fingerprint: '' }, { severity: 'warning' })]), OPTS)).fingerprint;
    expect(f3).not.toBe(f1);
  });

  it('uses description when there is no summary, and drops a non-http link', () => {
    const a = anAmAlert({ annotations: { description: 'unreachable' }, generatorURL: 'javascript:alert(1)' });
    const alert = only(parseAlertmanager(anAmWebhook([a]), OPTS));
    expect(alert.summary).toBe('unreachable');
    expect(alert.link).toBeUndefined();
  });

  it('sets fencedEvidence only for the exact label value', () => {
    const ev = (labels: Record<string, string>, opts = OPTS) => only(parseAlertmanager(anAmWebhook([anAmAlert({}, labels)]), opts)).fencedEvidence;
    expect(ev({ fenced: 'true' })).toBe(true);
    expect(ev({})).toBe(false);
    for (const v of ['True', 'TRUE', 'yes', '1', 'true ', '']) expect(ev({ fenced: v })).toBe(false);
    expect(ev({ fencing: 'true' })).toBe(false);
    const custom = alertOptions({ evidenceLabel: { name: 'ipmi_power', value: 'off' } });
    expect(ev({ ipmi_power: 'off' }, custom)).toBe(true);
    expect(ev({ fenced: 'true' }, custom)).toBe(false);
  });

  it('accepts extra fields anywhere', () => {
    const a = { ...anAmAlert(), extra: { nested: [1, 2] } };
    expect(ok(parseAlertmanager({ ...anAmWebhook([a]), somethingNew: true }, OPTS)).alerts).toHaveLength(1);
  });

  it.each([
    [null, /^body: /],
    ['{"alerts":[]}', /^body: /],
    [{}, /^alerts: /],
    [anAmWebhook([], { version: '3' }), /^version: /],
    [anAmWebhook([anAmAlert({ status: 'pending' })], { status: 'firing' }), /^alerts\.0\.status: /],
    [anAmWebhook([anAmAlert(), anAmAlert({ labels: 'x' })]), /^alerts\.1\.labels: /],
    [anAmWebhook([anAmAlert({}, { instance: 5 as unknown as string })]), /^alerts\.0\.labels\.instance: /],
    [anAmWebhook([anAmAlert({ startsAt: 'yesterday' })]), /^alerts\.0\.startsAt: /],
    [anAmWebhook([anAmAlert({ fingerprint: 'x'.repeat(300) })]), /^alerts\.0\.fingerprint: /],
    [anAmWebhook([anAmAlert()], { truncatedAlerts: -1 }), /^truncatedAlerts: /],
  ])('refuses a malformed body, naming the field (%#)', (body, re) => {
    expect(err(parseAlertmanager(body, OPTS))).toMatch(re);
  });

  it('never echoes long values in errors', () => {
    const long = 'A'.repeat(5000);
    const errors = [
      err(parseAlertmanager(anAmWebhook([anAmAlert({ status: long })]), OPTS)),
      err(parseAlertmanager(anAmWebhook([anAmAlert({}, { [long]: 5 as unknown as string })]), OPTS)),
      err(parseAlertmanager(anAmWebhook([anAmAlert({ startsAt: long })]), OPTS)),
    ];
    for (const e of errors) {
      expect(e).not.toContain('A'.repeat(81));
      expect(e.length).toBeLessThan(400);
    }
  });

  it('keeps an empty group valid', () => {
    expect(ok(parseAlertmanager(anAmWebhook([]), OPTS))).toEqual({ ok: true, alerts: [], skipped: [] });
  });

  it('omits startsAt for Go zero time', () => {
    expect(only(parseAlertmanager(anAmWebhook([anAmAlert({ startsAt: ZERO_TIME })]), OPTS)).startsAt).toBeUndefined();
  });
});

describe('parseGrafana', () => {
  it('normalizes a unified alerting body; link prefers panelURL', () => {
    expect(only(parseGrafana(aGrafanaWebhook(), OPTS))).toEqual({
      source: 'grafana',
      host: 'compute2',
      status: 'firing',
      fingerprint: 'c6eadffa33fcdf37',
      alertName: 'Compute host down',
      summary: 'compute2 is down',
      link: 'https://grafana.example.org/d/nova/compute?orgId=1&viewPanel=4',
      startsAt: '2026-11-25T14:03:10.157Z',
      fencedEvidence: false,
    });
  });

  it('falls back to dashboardURL then generatorURL when panelURL is empty', () => {
    const l1 = only(parseGrafana(aGrafanaWebhook([aGrafanaAlert({ panelURL: '' })]), OPTS)).link;
    expect(l1).toBe('https://grafana.example.org/d/nova/compute?orgId=1');
    const l2 = only(parseGrafana(aGrafanaWebhook([aGrafanaAlert({ panelURL: '', dashboardURL: '' })]), OPTS)).link;
    expect(l2).toBe('https://grafana.example.org/alerting/grafana/ae1xk2/view?orgId=1');
  });

  it('reads per-alert status, skips hostless alerts, and sees evidence', () => {
    const noHost = aGrafanaAlert({ labels: { alertname: 'Compute host down' }, fingerprint: 'nh' });
    const r = ok(
      parseGrafana(
        aGrafanaWebhook([
          aGrafanaAlert({ status: 'resolved', fingerprint: 'r1' }, { hostname: 'compute5' }),
          aGrafanaAlert({ fingerprint: 'f1' }, { hostname: 'compute6', fenced: 'true' }),
          noHost,
        ]),
        OPTS,
      ),
    );
    expect(r.alerts.map((a) => [a.host, a.status, a.fencedEvidence])).toEqual([
      ['compute5', 'resolved', false],
      ['compute6', 'firing', true],
    ]);
    expect(r.skipped).toEqual([expect.objectContaining({ reason: 'no-host', fingerprint: 'nh', alertName: 'Compute host down' })]);
  });

  it('accepts values: null and missing Grafana-only fields', () => {
    const a = aGrafanaAlert({ values: null, silenceURL: undefined, dashboardURL: undefined, panelURL: undefined });
    expect(ok(parseGrafana(aGrafanaWebhook([a], { orgId: undefined, title: undefined }), OPTS)).alerts).toHaveLength(1);
  });

  it.each([
    [aGrafanaWebhook([aGrafanaAlert({ status: 'alerting' })]), /^alerts\.0\.status: /],
    [aGrafanaWebhook([], { orgId: 'one' }), /^orgId: /],
    [aGrafanaWebhook([aGrafanaAlert({ panelURL: 7 })]), /^alerts\.0\.panelURL: /],
    [{ ...aGrafanaWebhook(), alerts: undefined }, /^alerts: /],
  ])('refuses a malformed body, naming the field (%#)', (body, re) => {
    expect(err(parseGrafana(body, OPTS))).toMatch(re);
  });

  it('turns 200 alerts into 200 host alerts', () => {
    const alerts = Array.from({ length: 200 }, (_, i) => aGrafanaAlert({ fingerprint: `g${i}` }, { hostname: `compute${i}` }));
    expect(ok(parseGrafana(aGrafanaWebhook(alerts), OPTS)).alerts).toHaveLength(200);
  });
});

describe('parseDoctor', () => {
  it('normalizes a sample-monitor report', () => {
    expect(only(parseDoctor([aDoctorEvent('compute1')], OPTS))).toEqual({
      source: 'doctor',
      host: 'compute1',
      status: 'firing',
      fingerprint: 'doctor:compute1:2026-11-25T14:03:10.123456',
      alertName: 'compute.host.down',
      summary: 'compute.host.down reported by monitor_sample',
      startsAt: '2026-11-25T14:03:10.123Z',
      fencedEvidence: false,
    });
  });

  it('fingerprints per host and per outage, never by monitor_event_id', () => {
    const r = ok(
      parseDoctor(
        [
          aDoctorEvent('compute1'),
          aDoctorEvent('compute2'),
          aDoctorEvent('compute1', { time: '2026-11-25T18:00:00.000001' }),
        ],
        OPTS,
      ),
    );
    const fps = r.alerts.map((a) => a.fingerprint);
    expect(new Set(fps).size).toBe(3);
    for (const fp of fps) expect(fp).not.toContain('monitor_sample_event1');
  });

  it('accepts 200 hosts in one list, and the {"events": [...]} wrapper', () => {
    const list = Array.from({ length: 200 }, (_, i) => aDoctorEvent(`compute${i}`));
    expect(ok(parseDoctor(list, OPTS)).alerts).toHaveLength(200);
    expect(ok(parseDoctor({ events: list.slice(0, 2) }, OPTS)).alerts).toHaveLength(2);
  });

  it('ignores an id and accepts extra fields', () => {
    expect(only(parseDoctor([{ id: 'monitor_sample_id1', ...aDoctorEvent('compute4') }], OPTS)).host).toBe('compute4');
  });

  it('skips other event types and statuses with a reason', () => {
    const r = ok(parseDoctor([aDoctorEvent('c1', { type: 'compute.host.up' }), aDoctorEvent('c2', {}, { status: 'up' })], OPTS));
    expect(r.alerts).toEqual([]);
    expect(r.skipped.map((s) => s.reason)).toEqual(['unsupported-event', 'unsupported-event']);
  });

  it('skips a missing or bad hostname', () => {
    const r = ok(parseDoctor([aDoctorEvent('', {}, { hostname: undefined }), aDoctorEvent('compute 1')], OPTS));
    expect(r.skipped.map((s) => s.reason)).toEqual(['no-host', 'bad-host']);
  });

  it.each([
    ['2026-11-25T14:03:10.123456', '2026-11-25T14:03:10.123Z'],
    ['2026-11-25T14:03:10', '2026-11-25T14:03:10.000Z'],
    ['2026-11-25 14:03:10.5', '2026-11-25T14:03:10.500Z'],
    ['2026-11-25T14:03:10.123456+01:00', '2026-11-25T13:03:10.123Z'],
    ['2026-11-25T14:03:10Z', '2026-11-25T14:03:10.000Z'],
  ])('reads time %s as %s (naive = UTC)', (time, iso) => {
    expect(doctorTimeToIso(time)).toBe(iso);
  });

  it.each([
    [{ hostname: 'compute1' }, /^body: /],
    [[{ ...aDoctorEvent(), time: undefined }], /^0\.time: /],
    [[aDoctorEvent('c1', { time: 'Tuesday' })], /^0\.time: /],
    [[aDoctorEvent(), aDoctorEvent('c1', { details: 'down' })], /^1\.details: /],
    [[aDoctorEvent('c1', {}, { hostname: 42 })], /^0\.details\.hostname: /],
    [Array.from({ length: 1001 }, () => aDoctorEvent()), /^body: /],
  ])('refuses a malformed body, naming the field (%#)', (body, re) => {
    expect(err(parseDoctor(body, OPTS))).toMatch(re);
  });
});

describe('parseGeneric', () => {
  it('normalizes the documented shape', () => {
    expect(only(parseGeneric(aGenericAlert(), OPTS))).toEqual({
      source: 'generic',
      host: 'compute3',
      status: 'firing',
      fingerprint: 'psu-compute3-42',
      summary: 'compute3 PSU failure',
      link: 'https://monitor.example.org/hosts/compute3',
      fencedEvidence: false,
    });
  });

  it('resolves, defaults the fingerprint to generic:<host>, and accepts a list', () => {
    const r = ok(parseGeneric([aGenericAlert({ status: 'resolved', id: undefined }), aGenericAlert({ host: 'compute4', id: '' })], OPTS));
    expect(r.alerts.map((a) => [a.status, a.fingerprint])).toEqual([
      ['resolved', 'generic:compute3'],
      ['firing', 'generic:compute4'],
    ]);
  });

  it('takes the host from labels when host is absent; skips when neither', () => {
    expect(only(parseGeneric(aGenericAlert({ host: undefined, labels: { instance: 'compute8:9100' } }), OPTS)).host).toBe('compute8');
    const r = ok(parseGeneric(aGenericAlert({ host: undefined }), OPTS));
    expect(r.skipped).toEqual([expect.objectContaining({ reason: 'no-host', fingerprint: 'psu-compute3-42' })]);
    expect(ok(parseGeneric(aGenericAlert({ host: 'bad host' }), OPTS)).skipped[0]!.reason).toBe('bad-host');
  });

  it('sees fencing evidence in labels only with the exact value', () => {
    expect(only(parseGeneric(aGenericAlert({ labels: { fenced: 'true' } }), OPTS)).fencedEvidence).toBe(true);
    expect(only(parseGeneric(aGenericAlert({ labels: { fenced: 'false' } }), OPTS)).fencedEvidence).toBe(false);
  });

  it.each([
    [aGenericAlert({ status: undefined }), /^status: /],
    [aGenericAlert({ status: 'down' }), /^status: /],
    [aGenericAlert({ host: ['c1'] }), /^host: /],
    [aGenericAlert({ link: 'x'.repeat(5000) }), /^link: /],
    [[aGenericAlert(), aGenericAlert({ id: 3 })], /^1\.id: /],
    ['firing', /^body: /],
  ])('refuses a malformed body, naming the field (%#)', (body, re) => {
    const e = err(parseGeneric(body, OPTS));
    expect(e).toMatch(re);
    expect(e).not.toContain('x'.repeat(81));
  });
});

describe('hostPattern and cloudLabel, in every source', () => {
  const NODE_EXPORTER = alertOptions({ hostPattern: compileHostPattern('^([^.:]+)'), cloudLabel: 'cloud' });

  it('Alertmanager: node_exporter instance="compute1.dc1.example:9100" with ^([^.:]+) → compute1', () => {
    const a = only(parseAlertmanager(anAmWebhook([anAmAlert({}, { instance: 'compute1.dc1.example:9100' })]), NODE_EXPORTER));
    expect(a.host).toBe('compute1');
    expect(a.cloud).toBeUndefined();
  });

  it('Alertmanager: a host, an IP and a value the pattern misses, in one body: one alert, two ignored with why', () => {
    const r = ok(
      parseAlertmanager(
        anAmWebhook([
          anAmAlert({ fingerprint: 'a' }, { instance: 'compute2.dc1.example:9100' }),
          anAmAlert({ fingerprint: 'b' }, { instance: '10.0.0.5:9100' }),
          anAmAlert({ fingerprint: 'c' }, { instance: '.dc1.example:9100' }),
        ]),
        NODE_EXPORTER,
      ),
    );
    expect(r.alerts.map((a) => a.host)).toEqual(['compute2']);
    expect(r.skipped).toEqual([
      expect.objectContaining({ reason: 'ip-address', fingerprint: 'b', detail: 'label instance: "10.0.0.5:9100" is an IP address, not a host name' }),
      expect.objectContaining({ reason: 'host-pattern', fingerprint: 'c', detail: 'label instance: ".dc1.example:9100" does not match hostPattern' }),
    ]);
  });

  it('cloudLabel: the label names the cloud; absent or empty, no cloud (the default one)', () => {
    const r = ok(
      parseAlertmanager(
        anAmWebhook([
          anAmAlert({ fingerprint: 'a' }, { instance: 'c1:9100', cloud: 'lab2' }),
          anAmAlert({ fingerprint: 'b' }, { instance: 'c2:9100' }),
          anAmAlert({ fingerprint: 'c' }, { instance: 'c3:9100', cloud: '' }),
          anAmAlert({ fingerprint: 'd' }, { instance: 'c4:9100', cloud: 'nowhere' }),
        ]),
        NODE_EXPORTER,
      ),
    );
    expect(r.alerts.map((a) => [a.host, a.cloud])).toEqual([
      ['c1', 'lab2'],
      ['c2', undefined],
      ['c3', undefined],
      // Not configured is for the card to say: the parser does not know the clouds.
      ['c4', 'nowhere'],
    ]);
  });

  it('cloudLabel: a value that cannot be a cloud name is ignored with the reason, never shown', () => {
    const r = ok(parseAlertmanager(anAmWebhook([anAmAlert({}, { instance: 'c1:9100', cloud: '<!channel> x' })]), NODE_EXPORTER));
    expect(r.alerts).toEqual([]);
    expect(r.skipped).toEqual([expect.objectContaining({ reason: 'bad-cloud', detail: 'label cloud: "<!channel> x" is not a cloud name' })]);
  });

  it('without cloudLabel configured, a "cloud" label means nothing', () => {
    expect(only(parseAlertmanager(anAmWebhook([anAmAlert({}, { cloud: 'lab2' })]), OPTS)).cloud).toBeUndefined();
  });

  it('Grafana reads both from labels too', () => {
    const a = only(parseGrafana(aGrafanaWebhook([aGrafanaAlert({}, { hostname: '', instance: 'compute9.dc1.example:9100', cloud: 'east' })]), NODE_EXPORTER));
    expect([a.host, a.cloud]).toEqual(['compute9', 'east']);
    expect(ok(parseGrafana(aGrafanaWebhook([aGrafanaAlert({}, { host: '', hostname: '', nodename: '', instance: '[2001:db8::1]:9100' })]), NODE_EXPORTER)).skipped[0]!.reason).toBe('ip-address');
  });

  it('generic: the pattern applies to the host field; the cloud comes from its labels', () => {
    const a = only(parseGeneric(aGenericAlert({ host: 'compute3.dc1.example', labels: { cloud: 'east' } }), NODE_EXPORTER));
    expect([a.host, a.cloud]).toEqual(['compute3', 'east']);
    expect(ok(parseGeneric(aGenericAlert({ host: 'fe80::1' }), NODE_EXPORTER)).skipped[0]!.reason).toBe('ip-address');
    expect(ok(parseGeneric(aGenericAlert({ host: '10.1.2.3' }), OPTS)).skipped[0]!.reason).toBe('ip-address');
  });

  it('Doctor: the pattern applies to details.hostname; an IP is ignored', () => {
    expect(only(parseDoctor([aDoctorEvent('compute4.dc1.example')], NODE_EXPORTER)).host).toBe('compute4');
    const r = ok(parseDoctor([aDoctorEvent('192.0.2.7')], NODE_EXPORTER));
    expect(r.skipped).toEqual([expect.objectContaining({ reason: 'ip-address', detail: 'label details.hostname: "192.0.2.7" is an IP address, not a host name' })]);
  });

  it('never quotes a long value in full', () => {
    const long = `${'a'.repeat(300)}.dc1.example`;
    const r = ok(parseAlertmanager(anAmWebhook([anAmAlert({}, { instance: long })]), alertOptions({ hostPattern: compileHostPattern('^(b+)') })));
    expect(r.skipped[0]!.detail!.length).toBeLessThan(130);
  });
});
