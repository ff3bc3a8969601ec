/**
 * Webhook bodies for the reliability suite (issue 6, bad input): fast-check generators of
 * Alertmanager, Grafana, OPNFV Doctor and generic bodies (valid shapes, the same with one field
 * mutated, random JSON, non-JSON, deep nesting, huge strings), and an oracle: an independent
 * statement of which bodies are valid and which host alerts a valid one carries, written from the
 * documented shapes (issue 4, README, the builders in test/unit/alerts/builders.ts), not by
 * calling the parsers under test. It reuses only checkHostName, the one definition of a host name.
 */
import { isIP } from 'node:net';
import fc from 'fast-check';
import type { AlertSource } from '../../src/alerts/types.js';
import { checkHostName } from '../../src/domain/host.js';

export const SOURCES: readonly AlertSource[] = ['alertmanager', 'grafana', 'doctor', 'generic'];

// ---------------------------------------------------------------------------------------------
// The oracle

export interface ExpectedAlert {
  host: string;
  status: 'firing' | 'resolved';
  /** Carries `fenced="true"` (the default evidence label) in its own labels. */
  evidence: boolean;
}

export type Expected = { valid: false } | { valid: true; alerts: ExpectedAlert[]; skipped: number };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const has = (o: Obj, k: string) => Object.prototype.hasOwnProperty.call(o, k);
/** Lengths are in Unicode code points (a lone surrogate is one), not UTF-16 units: "characters" as a person counts them. */
const codePoints = (s: string) => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};
const str =
  (max: number) =>
  (v: unknown): v is string =>
    typeof v === 'string' && (v.length <= max || codePoints(v) <= max);
/** A field that may be left out (JSON has no `undefined`: present means it must be right; `null` is not "left out"). */
const opt = (o: Obj, k: string, ok: (v: unknown) => boolean) => !has(o, k) || ok(o[k]);
const list = (max: number, ok: (v: unknown) => boolean) => (v: unknown) => Array.isArray(v) && v.length <= max && v.every(ok);

/** A JSON object of string values (labels, annotations). `__proto__` is not a key a JSON reader keeps. */
const record = (maxValue: number) => (v: unknown) => {
  if (!isObj(v)) return false;
  const keys = Object.keys(v).filter((k) => k !== '__proto__');
  return keys.length <= 256 && keys.every((k) => str(1024)(k) && str(maxValue)(v[k]));
};
const labels = record(8192);
const annotations = record(65_536);
const url = str(4096);
const status = (v: unknown) => v === 'firing' || v === 'resolved';
/** RFC 3339 with an explicit offset (a naive time would be read in the server's zone). */
const rfc3339 = (v: unknown) =>
  str(64)(v) && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/i.test(v) && !Number.isNaN(Date.parse(v));
/** Python's `datetime.isoformat()` (what the Doctor sample monitor sends: no offset), or with an offset. */
const doctorTime = (v: unknown) => {
  if (!str(64)(v)) return false;
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$/i.exec(v);
  if (!m) return false;
  let offset = (m[4] ?? 'Z').toUpperCase();
  if (/^[+-]\d{4}$/.test(offset)) offset = `${offset.slice(0, 3)}:${offset.slice(3)}`;
  return !Number.isNaN(Date.parse(`${m[1]}T${m[2]}${(m[3] ?? '.0').slice(0, 4).padEnd(4, '0')}${offset}`));
};
const safeInt = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v);

const amAlert = (a: unknown) =>
  isObj(a) &&
  status(a.status) &&
  labels(a.labels) &&
  opt(a, 'annotations', annotations) &&
  opt(a, 'startsAt', rfc3339) &&
  opt(a, 'endsAt', rfc3339) &&
  opt(a, 'generatorURL', url) &&
  opt(a, 'fingerprint', str(256));
const grafanaAlert = (a: unknown) => amAlert(a) && isObj(a) && opt(a, 'dashboardURL', url) && opt(a, 'panelURL', url) && opt(a, 'silenceURL', url);

function amShape(b: Obj, alert: (a: unknown) => boolean, grafana: boolean): boolean {
  return (
    (grafana ? opt(b, 'version', str(16)) : opt(b, 'version', (v) => v === '4')) &&
    opt(b, 'groupKey', str(65_536)) &&
    opt(b, 'truncatedAlerts', (v) => safeInt(v) && (v as number) >= 0) &&
    opt(b, 'status', status) &&
    opt(b, 'receiver', str(1024)) &&
    opt(b, 'groupLabels', labels) &&
    opt(b, 'commonLabels', labels) &&
    opt(b, 'commonAnnotations', annotations) &&
    opt(b, 'externalURL', url) &&
    (!grafana || (opt(b, 'orgId', safeInt) && opt(b, 'title', str(65_536)) && opt(b, 'state', str(64)) && opt(b, 'message', str(4 * 65_536)))) &&
    list(1000, alert)(b.alerts)
  );
}

const doctorEvent = (e: unknown) =>
  isObj(e) &&
  doctorTime(e.time) &&
  str(256)(e.type) &&
  isObj(e.details) &&
  opt(e.details, 'hostname', str(8192)) &&
  opt(e.details, 'status', str(256)) &&
  opt(e.details, 'monitor', str(1024)) &&
  opt(e.details, 'monitor_event_id', str(1024));

const genericAlert = (a: unknown) =>
  isObj(a) &&
  opt(a, 'host', str(8192)) &&
  status(a.status) &&
  opt(a, 'summary', str(65_536)) &&
  opt(a, 'link', url) &&
  opt(a, 'id', str(256)) &&
  opt(a, 'alertName', str(1024)) &&
  opt(a, 'startsAt', rfc3339) &&
  opt(a, 'labels', labels);

export const DEFAULT_HOST_LABELS = ['host', 'hostname', 'nodename', 'instance'];

/** A label value → the host (an `instance`'s `:port` dropped), or undefined when it is no host name (an IP address is none). */
export function hostOfValue(raw: string): string | undefined {
  const m = /^([^:]+):\d{1,5}$/.exec(raw);
  const host = m ? m[1]! : raw;
  if (isIP(host) !== 0 || isIP(raw) !== 0) return undefined;
  return checkHostName(host) === undefined ? host : undefined;
}

/** The first host label present and non-empty decides (a bad value there is not a reason to look further). */
function hostOfLabels(l: Obj): string | undefined {
  for (const name of DEFAULT_HOST_LABELS) {
    if (!has(l, name) || l[name] === '') continue;
    return hostOfValue(l[name] as string);
  }
  return undefined;
}

const evidenceIn = (l: unknown) => isObj(l) && has(l, 'fenced') && l.fenced === 'true';

/** Which body `source` accepts, and the host alerts (in order) it carries. */
export function expectedOf(source: AlertSource, body: unknown): Expected {
  const out: ExpectedAlert[] = [];
  let skipped = 0;
  const push = (host: string | undefined, st: 'firing' | 'resolved', evidence: boolean) => {
    if (host === undefined) skipped++;
    else out.push({ host, status: st, evidence });
  };
  switch (source) {
    case 'alertmanager':
    case 'grafana': {
      const grafana = source === 'grafana';
      if (!isObj(body) || !amShape(body, grafana ? grafanaAlert : amAlert, grafana)) return { valid: false };
      for (const a of body.alerts as Obj[]) push(hostOfLabels(a.labels as Obj), a.status as 'firing' | 'resolved', evidenceIn(a.labels));
      break;
    }
    case 'doctor': {
      const events = Array.isArray(body) ? body : isObj(body) ? body.events : undefined;
      if (!list(1000, doctorEvent)(events)) return { valid: false };
      for (const e of events as Obj[]) {
        const d = e.details as Obj;
        if (e.type !== 'compute.host.down' || d.status !== 'down') {
          skipped++;
          continue;
        }
        const hostname = (d.hostname as string | undefined) ?? '';
        push(hostname === '' ? undefined : hostOfValue(hostname), 'firing', false);
      }
      break;
    }
    case 'generic': {
      const alerts = Array.isArray(body) ? body : [body];
      if (!list(1000, genericAlert)(alerts)) return { valid: false };
      for (const a of alerts as Obj[]) {
        const host = typeof a.host === 'string' && a.host !== '' ? hostOfValue(a.host) : hostOfLabels((a.labels as Obj | undefined) ?? {});
        push(host, a.status as 'firing' | 'resolved', evidenceIn(a.labels));
      }
      break;
    }
  }
  return { valid: true, alerts: out, skipped };
}

/** The fields a 400 may name first: the body itself, a top-level field, or an index of a list body. */
export const TOP_FIELDS: Record<AlertSource, RegExp> = {
  alertmanager: /^(?:body|version|groupKey|truncatedAlerts|status|receiver|groupLabels|commonLabels|commonAnnotations|externalURL|alerts)(?::|\.)/,
  grafana: /^(?:body|version|groupKey|truncatedAlerts|status|receiver|groupLabels|commonLabels|commonAnnotations|externalURL|alerts|orgId|title|state|message)(?::|\.)/,
  doctor: /^(?:body|events|\d+)(?::|\.)/,
  generic: /^(?:body|host|status|summary|link|id|alertName|startsAt|labels|\d+)(?::|\.)/,
  pagerduty: /^(?:body|event)(?::|\.)/,
};

// ---------------------------------------------------------------------------------------------
// Generators

const hostLabel = fc.stringMatching(/^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,14}[A-Za-z0-9_])?$/);
export const validHost = fc.array(hostLabel, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));
/** Hosts shared by every source, so that repeats (and cross-source repeats) happen often. */
export const POOL_SIZE = 60;
export const poolHost = fc.nat({ max: POOL_SIZE - 1 }).map((i) => `wh-${i}`);
const nastyHost = fc.constantFrom(
  'a/b', '../../etc/passwd', 'h?x=1', 'h#frag', 'h%2Fx', 'h&host=evil', 'h\u0000', 'h\r\nX-Injected: 1', 'h\tx', '<@U0APPROVE1>', '<!channel>', 'ñandú',
  '💥', 'a'.repeat(64), `${'a'.repeat(63)}.`.repeat(5), '-', '.', 'a..b', '-a', 'a-', 'compute1.', '.compute1', '\u202ecompute1', 'compute１', 'сompute1',
  'x'.repeat(254), '[::1]:9100', '[2001:db8::1]', 'fe80::1', '::', 'compute1:99999', 'compute1:', ':9100', 'compute1:9100:1', ' compute1', 'compute1 ',
  'compute1/os-services', 'compute1?binary=nova-scheduler', '10.0.0.5', '10.0.0.5:9100', '192.0.2.254', '[2001:db8::1]:9100',
);
/** A host label's value: mostly usable (with or without an `instance`-style port), sometimes not. */
const hostValue = fc.oneof(
  { weight: 6, arbitrary: poolHost },
  { weight: 3, arbitrary: validHost },
  { weight: 2, arbitrary: fc.tuple(fc.oneof(poolHost, validHost), fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`) },
  { weight: 2, arbitrary: nastyHost },
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
);

/** Text of every kind: ASCII, any Unicode (lone surrogates included), and now and then long. */
const text = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\u0000', '\u202e', '<!here>', '*bold* `code`', '${jndi:ldap://x}', '{{7*7}}', '💥'.repeat(40)) },
);
/** Strings around a limit: a few short of it, at it, past it (huge ones included). */
const sized = (limit: number) => fc.integer({ min: -3, max: 3 }).chain((d) => fc.constantFrom('x', 'é', '💥').map((c) => c.repeat(Math.max(0, Math.ceil((limit + d) / c.length)))));
const huge = fc.constantFrom(257, 1025, 4097, 8193, 65_537, 200_000).chain((n) => fc.constantFrom('x', '💥').map((c) => c.repeat(Math.ceil(n / c.length))));

const validTime = fc.oneof(
  fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('2026-11-25T14:03:10.123456789Z', '2026-11-25T15:03:10.157076+01:00', '0001-01-01T00:00:00Z', '2026-11-25T14:03:10-05:30'),
);
const badTime = fc.constantFrom('2026-11-25 14:03:10', '2026-11-25T14:03:10', 'yesterday', '2026-13-01T00:00:00Z', '', '1764079390', '2026-11-25T14:03:10+0100', 'Tue, 25 Nov 2026 14:03:10 GMT');
// Mostly good: a body with many time fields would otherwise rarely be valid (mutations bring the bad ones too).
const time = fc.oneof({ weight: 60, arbitrary: validTime }, { weight: 1, arbitrary: badTime });
const doctorBadTime = fc.constantFrom('Tuesday', '', '14:03:10', '2026-11-25', '2026-11-25T14:03', '2026-11-25T25:03:10', '2026-11-25T14:03:10.1234567890');
const doctorTimes = fc.oneof(
  { weight: 40, arbitrary: fc.constantFrom('2026-11-25T14:03:10.123456', '2026-11-25T14:03:10', '2026-11-25 14:03:10.5', '2026-11-25T14:03:10.123456+01:00', '2026-11-25T14:03:10Z') },
  { weight: 20, arbitrary: validTime.map((t) => t.replace('Z', '')) },
  { weight: 1, arbitrary: doctorBadTime },
);
const link = fc.oneof(fc.webUrl(), fc.constantFrom('javascript:alert(1)', 'file:///etc/passwd', 'not a url', '', 'http://169.254.169.254/latest/meta-data/'));
/** Unknown fields senders add (Grafana's values, future fields): any JSON, ignored. */
const extras = fc.oneof({ weight: 2, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 }) });
const evidence = fc.constantFrom<Obj>({}, {}, { fenced: 'true' }, { fenced: 'True' }, { fenced: 'false' });

/** Labels with the host under one (or more, or none) of the host labels. */
const alertLabels = fc
  .record({
    where: fc.subarray(DEFAULT_HOST_LABELS, { maxLength: 2 }),
    values: fc.array(hostValue, { minLength: 2, maxLength: 2 }),
    alertname: fc.option(text, { nil: undefined }),
    evidence,
    more: fc.dictionary(fc.string({ maxLength: 10 }), text, { maxKeys: 4 }),
  })
  .map((r) => {
    const l: Obj = { ...r.more, ...r.evidence };
    if (r.alertname !== undefined) l.alertname = r.alertname;
    r.where.forEach((name, i) => (l[name] = r.values[i]));
    return l;
  });

const amAlertArb = (grafana: boolean) =>
  fc
    .record({
      status: fc.constantFrom('firing', 'resolved'),
      labels: alertLabels,
      annotations: fc.option(fc.dictionary(fc.constantFrom('summary', 'description', 'runbook_url', 'x'), text, { maxKeys: 3 }), { nil: undefined }),
      startsAt: fc.option(time, { nil: undefined }),
      endsAt: fc.option(time, { nil: undefined }),
      generatorURL: fc.option(link, { nil: undefined }),
      fingerprint: fc.option(fc.oneof(fc.stringMatching(/^[0-9a-f]{16}$/), text), { nil: undefined }),
      dashboardURL: grafana ? fc.option(link, { nil: undefined }) : fc.constant(undefined),
      panelURL: grafana ? fc.option(link, { nil: undefined }) : fc.constant(undefined),
      silenceURL: grafana ? fc.option(link, { nil: undefined }) : fc.constant(undefined),
      extra: extras,
    })
    .map(({ extra, ...a }) => ({ ...extra, ...a }));

const amBody = (grafana: boolean) =>
  fc
    .record({
      version: grafana ? fc.constantFrom('1', undefined) : fc.constantFrom('4', '4', undefined),
      groupKey: fc.option(text, { nil: undefined }),
      truncatedAlerts: fc.option(fc.nat({ max: 10 }), { nil: undefined }),
      status: fc.option(fc.constantFrom('firing', 'resolved'), { nil: undefined }),
      receiver: fc.option(text, { nil: undefined }),
      groupLabels: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), text, { maxKeys: 3 }), { nil: undefined }),
      commonLabels: fc.option(fc.oneof(fc.constant({ fenced: 'true' }), fc.dictionary(fc.string({ maxLength: 8 }), text, { maxKeys: 3 })), { nil: undefined }),
      commonAnnotations: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), text, { maxKeys: 3 }), { nil: undefined }),
      externalURL: fc.option(link, { nil: undefined }),
      orgId: grafana ? fc.option(fc.integer({ min: -5, max: 100 }), { nil: undefined }) : fc.constant(undefined),
      title: grafana ? fc.option(text, { nil: undefined }) : fc.constant(undefined),
      state: grafana ? fc.option(fc.constantFrom('alerting', 'ok', 'pending', 'no_data'), { nil: undefined }) : fc.constant(undefined),
      message: grafana ? fc.option(text, { nil: undefined }) : fc.constant(undefined),
      alerts: fc.array(amAlertArb(grafana), { maxLength: 6 }),
      extra: extras,
    })
    .map(({ extra, ...b }) => ({ ...extra, ...b }));

const doctorEventArb = fc
  .record({
    time: doctorTimes,
    type: fc.oneof({ weight: 6, arbitrary: fc.constant('compute.host.down') }, { weight: 1, arbitrary: fc.constantFrom('compute.host.up', 'compute.instance.down', '') }, { weight: 1, arbitrary: text }),
    details: fc
      .record({
        hostname: fc.option(hostValue, { nil: undefined }),
        status: fc.oneof({ weight: 6, arbitrary: fc.constant('down') }, { weight: 1, arbitrary: fc.constantFrom('up', 'DOWN', '') }),
        monitor: fc.option(fc.constantFrom('monitor_sample', 'collectd', 'zabbix'), { nil: undefined }),
        monitor_event_id: fc.option(fc.constantFrom('monitor_sample_event1', '42'), { nil: undefined }),
        extra: extras,
      })
      .map(({ extra, ...d }) => ({ ...extra, ...d })),
    extra: extras,
  })
  .map(({ extra, ...e }) => ({ ...extra, ...e }));
const doctorBody = fc.oneof(
  { weight: 4, arbitrary: fc.array(doctorEventArb, { maxLength: 6 }) },
  { weight: 1, arbitrary: fc.tuple(fc.array(doctorEventArb, { maxLength: 6 }), extras).map(([events, extra]) => ({ ...extra, events })) },
);

const genericAlertArb = fc
  .record({
    host: fc.option(hostValue, { nil: undefined }),
    status: fc.constantFrom('firing', 'resolved'),
    summary: fc.option(text, { nil: undefined }),
    link: fc.option(link, { nil: undefined }),
    id: fc.option(fc.oneof(fc.uuid(), text), { nil: undefined }),
    alertName: fc.option(text, { nil: undefined }),
    startsAt: fc.option(time, { nil: undefined }),
    labels: fc.option(alertLabels, { nil: undefined }),
    extra: extras,
  })
  .map(({ extra, ...a }) => ({ ...extra, ...a }));
const genericBody = fc.oneof({ weight: 3, arbitrary: genericAlertArb }, { weight: 1, arbitrary: fc.array(genericAlertArb, { maxLength: 6 }) });

/** A body of the source's documented shape (valid, give or take a bad time or host). */
export function shapeOf(source: AlertSource): fc.Arbitrary<unknown> {
  switch (source) {
    case 'alertmanager':
      return amBody(false);
    case 'grafana':
      return amBody(true);
    case 'doctor':
      return doctorBody;
    case 'generic':
      return genericBody;
    case 'pagerduty':
      throw new Error('PagerDuty bodies are fuzzed in pagerduty.test.ts (signed, one event per body)');
  }
}

/** What a mutation puts in place of a field: every JSON type, limits, deep nesting, Unicode. */
const junk = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<unknown>(null, 0, -1, 1.5, 1e300, -0, true, false, '', [], {}, 'firing', 'resolved', '4', [null], { '': '' }, JSON.parse('{"__proto__":{"host":"wh-1","status":"firing"}}')) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: text },
  { weight: 1, arbitrary: fc.oneof(badTime, doctorBadTime, validTime) },
  { weight: 1, arbitrary: sized(1024) },
  { weight: 1, arbitrary: sized(8192) },
  { weight: 1, arbitrary: huge },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 400 }).map((d) => nest(d)) },
  { weight: 1, arbitrary: fc.integer({ min: 250, max: 260 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']))) },
);

/** An array nested `depth` deep around a string. */
export function nest(depth: number): unknown {
  let v: unknown = 'deep';
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

type PathSeg = string | number;
/** Every path in a JSON value (not below `maxDepth`), the root excluded. */
function pathsOf(value: unknown, maxDepth = 6, prefix: PathSeg[] = [], out: PathSeg[][] = []): PathSeg[][] {
  if (prefix.length >= maxDepth) return out;
  if (Array.isArray(value)) value.forEach((v, i) => (out.push([...prefix, i]), pathsOf(v, maxDepth, [...prefix, i], out)));
  else if (isObj(value)) for (const k of Object.keys(value)) out.push([...prefix, k]), pathsOf(value[k], maxDepth, [...prefix, k], out);
  return out;
}

export interface Mutated {
  /** The body before the change. */
  base: unknown;
  body: unknown;
  /** Where the body was changed, as a 400 would name it (`alerts.3.labels.host`). */
  path: string;
}

/** The error text's way of naming a path segment: long ones clipped to 80 characters. */
const segment = (s: PathSeg) => {
  const t = String(s);
  return t.length > 80 ? `${t.slice(0, 79)}…` : t;
};

/** One change to a body: a field replaced by junk, removed, or a field added next to it. */
export function mutationOf(base: fc.Arbitrary<unknown>): fc.Arbitrary<Mutated> {
  return fc.tuple(base, fc.nat(), fc.constantFrom('replace', 'replace', 'replace', 'delete', 'add'), junk, fc.oneof(fc.constantFrom('status', 'labels', 'host', 'alerts', 'events', 'time', 'details'), fc.string({ maxLength: 6 }))).map(([body, pick, how, value, key]) => {
    const copy = JSON.parse(JSON.stringify(body ?? null)) as unknown;
    const paths = pathsOf(copy);
    if (paths.length === 0) return { base: body, body: value, path: 'body' };
    const path = paths[pick % paths.length]!;
    const parent = path.slice(0, -1).reduce<unknown>((v, s) => (v as Obj)[s as string], copy) as Obj | unknown[];
    const last = path.at(-1)!;
    if (how === 'replace') (parent as Obj)[last as string] = value;
    else if (how === 'delete') {
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete parent[last as string];
    } else if (Array.isArray(parent)) parent.push(value);
    else {
      Object.defineProperty(parent, key, { value, enumerable: true, configurable: true, writable: true });
      return { base: body, body: copy, path: [...path.slice(0, -1), key].map(segment).join('.') };
    }
    // A deleted array element shifts its followers: the error may name the parent list.
    const named = how === 'delete' || (how === 'add' && Array.isArray(parent)) ? path.slice(0, -1) : path;
    return { base: body, body: copy, path: named.length === 0 ? 'body' : named.map(segment).join('.') };
  });
}

/** Raw bodies that are not JSON, or JSON of no use: each source must answer them with a 400 naming the body or a field. */
export const chaos: fc.Arbitrary<string> = fc.oneof(
  { weight: 15, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 10, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  { weight: 15, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
  {
    weight: 10,
    arbitrary: fc.constantFrom(
      '', ' ', 'null', 'true', '0', '""', '[]', '{}', '{', '}', '[', '{"alerts":', '{"alerts":[}', "{'alerts':[]}", '{"alerts":[],}', 'NaN', 'Infinity', 'undefined',
      '\uFEFF{"alerts":[]}', '{"alerts":[]} trailing', 'alerts=[]&status=firing', '<?xml version="1.0"?><alerts/>', '{"alerts":[]}\u0000', '\u0000', '{"a":1}{"b":2}',
      '[{"time":"2026-11-25T14:03:10","type":"compute.host.down","details":{"hostname":"wh-1","status":"down"}}', '{"status":"firing","host":"wh-1"',
    ),
  },
  // Truncated real bodies: every prefix of a valid one.
  { weight: 10, arbitrary: fc.tuple(amBody(false), fc.nat()).map(([b, n]) => JSON.stringify(b).slice(0, Math.max(1, n % JSON.stringify(b).length))) },
  // Deep nesting, where a field is expected and where none is (ignored, but parsed).
  {
    weight: 5,
    arbitrary: fc
      .tuple(fc.oneof({ weight: 40, arbitrary: fc.constantFrom(100, 1_000, 10_000) }, { weight: 1, arbitrary: fc.constant(100_000) }), fc.constantFrom('raw', 'alerts', 'extra', 'labels', 'events', 'object'))
      .map(([d, where]) => {
        const deep = where === 'object' ? `${'{"a":'.repeat(d)}1${'}'.repeat(d)}` : `${'['.repeat(d)}${']'.repeat(d)}`;
        switch (where) {
          case 'raw':
          case 'object':
            return deep;
          case 'alerts':
            return `{"alerts":${deep}}`;
          case 'extra':
            return `{"alerts":[],"events":[],"status":"firing","x":${deep}}`;
          case 'labels':
            return `{"alerts":[{"status":"firing","labels":${deep}}],"status":"firing","labels":${deep}}`;
          default:
            return `{"events":${deep}}`;
        }
      }),
  },
  // Over the list limit (1,000 alerts or events).
  { weight: 1, arbitrary: fc.constantFrom(1001, 5000).map((n) => JSON.stringify({ alerts: Array.from({ length: n }, () => ({ status: 'firing', labels: {} })), events: [] })) },
);
