import { z } from 'zod';
import { hostPatternProblem } from '../domain/alert-source.js';

/**
 * The `auth` block of a clouds.yaml cloud. Application credentials are
 * preferred; password auth is accepted as operators already have it.
 * Unknown keys are kept (clouds.yaml carries many we do not use).
 */
export const cloudAuthSchema = z
  .looseObject({
    auth_url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    application_credential_id: z.string().min(1).optional(),
    application_credential_name: z.string().min(1).optional(),
    application_credential_secret: z.string().min(1).optional(),
    username: z.string().min(1).optional(),
    user_id: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    project_name: z.string().min(1).optional(),
    project_id: z.string().min(1).optional(),
    user_domain_name: z.string().min(1).optional(),
    user_domain_id: z.string().min(1).optional(),
    project_domain_name: z.string().min(1).optional(),
    project_domain_id: z.string().min(1).optional(),
    domain_name: z.string().min(1).optional(),
    domain_id: z.string().min(1).optional(),
  })
  .superRefine((auth, ctx) => {
    if (auth.application_credential_secret !== undefined) {
      if (!auth.application_credential_id && !auth.application_credential_name) {
        ctx.addIssue({
          code: 'custom',
          path: ['application_credential_id'],
          message: 'required with application_credential_secret (or application_credential_name with username)',
        });
      }
      if (!auth.application_credential_id && auth.application_credential_name && !auth.username && !auth.user_id) {
        ctx.addIssue({ code: 'custom', path: ['username'], message: 'required with application_credential_name' });
      }
      return;
    }
    if (auth.application_credential_id || auth.application_credential_name) {
      ctx.addIssue({ code: 'custom', path: ['application_credential_secret'], message: 'required' });
      return;
    }
    if (!auth.username && !auth.user_id) {
      ctx.addIssue({
        code: 'custom',
        path: ['username'],
        message: 'required (or user_id, or application_credential_id + application_credential_secret)',
      });
    }
    if (!auth.password) ctx.addIssue({ code: 'custom', path: ['password'], message: 'required for password auth' });
    if (!auth.project_name && !auth.project_id) {
      ctx.addIssue({
        code: 'custom',
        path: ['project_name'],
        message: 'required for password auth (or project_id): force-down needs a project-scoped token',
      });
    }
  });

const interfaceSchema = z
  .string()
  .transform((v) => v.replace(/URL$/, ''))
  .pipe(z.enum(['public', 'internal', 'admin'], { error: 'must be public, internal or admin' }));

/** One entry of `clouds` — the shape of a cloud in OpenStack's clouds.yaml. */
export const cloudSchema = z.looseObject({
  auth: cloudAuthSchema,
  auth_type: z
    .enum(['password', 'v3password', 'v3applicationcredential', 'applicationcredential', 'v3token'], {
      error: 'must be password, v3password, v3applicationcredential or applicationcredential',
    })
    .optional(),
  region_name: z.string().min(1).optional(),
  interface: interfaceSchema.default('public'),
  /** PEM text (secret document) or a path to a PEM file (clouds.yaml). */
  cacert: z.string().min(1).optional(),
  verify: z.boolean().default(true),
  /** Pin the compute microversion (e.g. "2.11"); normally discovered from Nova's version document. */
  // A string only: an unquoted YAML/JSON number loses digits (2.60 arrives as 2.6).
  compute_api_version: z
    .string({ error: 'must be a quoted string like "2.53" (an unquoted number loses trailing zeros)' })
    .regex(/^2\.\d+$/, 'must look like "2.N", e.g. "2.53"')
    .optional(),
});

export type CloudConfig = z.infer<typeof cloudSchema>;

/**
 * One alert source: its shared token (bearer or basic auth), auto mode (off
 * by default), the labels the host is read from (first present wins) and the
 * fencing-evidence label auto mode requires.
 */
/**
 * `alerts.<source>.hostPattern`: a JavaScript regular expression with exactly
 * one capture group, applied to the host label's value; the capture is the host
 * (`^([^.:]+)`: `compute1.dc1.example:9100` → `compute1`). Checked at start.
 */
export const hostPatternSchema = z.string().superRefine((v, ctx) => {
  const problem = hostPatternProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** `alerts.<source>.cloudLabel`: the label whose value names the cloud (one of `clouds`); absent: FORCE_DOWN_DEFAULT_CLOUD. */
export const cloudLabelSchema = z.string().min(1);

const tokenSource = z.looseObject({
  token: z.string().min(1),
  // true: on the fencing-evidence label; "bmc-off": when the host's BMC reports power Off (docs/alerts.md).
  autoForceDown: z.union([z.boolean(), z.literal('bmc-off')], { error: 'must be true, false or "bmc-off"' }).default(false),
  hostLabels: z.array(z.string().min(1)).min(1).optional(),
  evidenceLabel: z.object({ name: z.string().min(1), value: z.string() }).optional(),
  hostPattern: hostPatternSchema.optional(),
  cloudLabel: cloudLabelSchema.optional(),
});

/**
 * PagerDuty v3 webhooks (docs/alerts.md): the subscription's signing secret
 * (a list while ours rotates: any one accepts), no token unless one is set
 * (then sent as a custom header), and where the host is: `hostField`, a dotted
 * path into the incident, or `hostPattern` on the incident title.
 */
const pagerDutySource = tokenSource
  .extend({
    token: z.string().min(1).optional(),
    signingSecret: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(8)], { error: 'must be the signing secret, or a list of them' }),
    hostField: z
      .string()
      .regex(/^[\w-]{1,128}(?:\.[\w-]{1,128}){0,7}$/, 'must be a dotted path into the incident, e.g. custom_fields.host')
      .optional(),
    // hostPattern (tokenSource's) applies to the incident title.
  })
  .refine((c) => c.hostField !== undefined || c.hostPattern !== undefined, { message: 'set hostField or hostPattern: without either no incident names a host' });

/** Only https: BMC credentials never travel in clear. `{host}` may stand for the host's name. */
const bmcUrl = z
  .string({ error: 'must be a string (an https URL)' })
  .refine((v) => {
    try {
      const u = new URL(v.replaceAll('{host}', 'host'));
      return u.protocol === 'https:' && u.username === '' && u.password === '';
    } catch {
      return false;
    }
  }, 'must be an https URL without credentials in it, e.g. https://{host}-bmc.mgmt.example (the credentials go in username and password)');

/** The fields of a BMC entry; every one optional so a template and a host entry can each give part. */
const bmcFields = {
  url: bmcUrl.optional(),
  /** A Redfish ComputerSystem path, e.g. /redfish/v1/Systems/1. Without it, chosen from the Systems collection. */
  system: z
    .string()
    .regex(/^\/redfish\/v1\/Systems\/[^/?#\s]+\/?$/, 'must be a Redfish system path like /redfish/v1/Systems/1')
    .optional(),
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  /** PEM text, or a path to a PEM file (resolved like a cloud's cacert). */
  caCert: z.string().min(1).optional(),
  /** Accept any certificate (self-signed BMCs without a CA file). Warned about at start. */
  insecure: z.boolean().optional(),
};

export const bmcEntrySchema = z.strictObject(bmcFields);
export type BmcEntry = z.infer<typeof bmcEntrySchema>;

/**
 * A host's entry over its cloud's template, field by field. A host entry
 * that sets caCert drops the template's insecure, and one that sets
 * insecure: true drops the template's caCert.
 */
export function mergeBmcEntry(template: BmcEntry | undefined, entry: BmcEntry | undefined): BmcEntry {
  const merged: BmcEntry = { ...template, ...entry };
  if (entry?.caCert !== undefined && entry.insecure === undefined) delete merged.insecure;
  if (entry?.insecure === true && entry.caCert === undefined) delete merged.caCert;
  return merged;
}

/**
 * One cloud's BMCs: `template` applies to every host of the cloud (with
 * `{host}` replaced by the host's name), `hosts` entries (keys compared
 * case-insensitively) override it field by field.
 */
export const bmcCloudSchema = z
  .strictObject({
    template: bmcEntrySchema.optional(),
    hosts: z.record(z.string().min(1), bmcEntrySchema).default({}),
  })
  .superRefine((c, ctx) => {
    const seen = new Map<string, string>();
    for (const name of Object.keys(c.hosts)) {
      const folded = name.toLowerCase();
      if (seen.has(folded)) {
        ctx.addIssue({ code: 'custom', path: ['hosts', name], message: `names the same host as "${seen.get(folded)}" (host names are compared case-insensitively)` });
      }
      seen.set(folded, name);
    }
    const check = (entry: BmcEntry, path: (string | number)[]) => {
      for (const field of ['url', 'username', 'password'] as const) {
        if (entry[field] === undefined) ctx.addIssue({ code: 'custom', path: [...path, field], message: 'required (here or in the template)' });
      }
      if (entry.insecure === true && entry.caCert !== undefined) {
        ctx.addIssue({ code: 'custom', path: [...path, 'insecure'], message: 'set caCert or insecure: true, not both' });
      }
    };
    // A template with a url stands for every host of the cloud: it must be complete on its own.
    if (c.template?.url !== undefined) check(c.template, ['template']);
    else if (c.template?.insecure === true && c.template.caCert !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['template', 'insecure'], message: 'set caCert or insecure: true, not both' });
    }
    for (const [name, entry] of Object.entries(c.hosts)) {
      check(mergeBmcEntry(c.template, entry), ['hosts', name]);
    }
  });
export type BmcCloudConfig = z.infer<typeof bmcCloudSchema>;

/** The secret document (docs/configuration.md: "The secret document"). */
export const secretDocumentSchema = z.object({
  slack: z
    .object({
      signingSecret: z.string().min(1),
      botToken: z.string().regex(/^xox[bp]-/, 'must be a Slack bot token (xoxb-…)'),
    })
    .optional(),
  alerts: z
    .object({
      alertmanager: tokenSource.optional(),
      grafana: tokenSource.extend({ hmacSecret: z.string().min(1).optional() }).optional(),
      // Doctor's events carry no labels: its cloud is always the default one.
      doctor: tokenSource
        .refine((d) => d.cloudLabel === undefined, { path: ['cloudLabel'], message: "not supported: Doctor's events carry no labels (its alerts go to FORCE_DOWN_DEFAULT_CLOUD)" })
        .optional(),
      generic: tokenSource.optional(),
      pagerduty: pagerDutySource.optional(),
    })
    .default({}),
  clouds: z.record(z.string().min(1), cloudSchema).refine((c) => Object.keys(c).length > 0, 'needs at least one cloud'),
  /** BMCs (Redfish) by cloud name, for fence evidence (docs/bmc.md). */
  bmc: z.record(z.string().min(1), bmcCloudSchema).optional(),
});

export type SecretDocument = z.infer<typeof secretDocumentSchema>;

/** A configuration problem. Its message lists the bad fields by path and never quotes a value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
  constructor(
    message: string,
    readonly problems: string[] = [],
  ) {
    super(problems.length ? `${message}:\n${problems.map((p) => `  - ${p}`).join('\n')}` : message);
  }
}

/** Formats zod issues as `path.to.field: what is wrong`, without the offending values. */
export function describeIssues(error: z.ZodError, fieldName: FieldNamer = []): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String);
    const name = typeof fieldName === 'function' ? fieldName(path) : [...fieldName, ...path].join('.') || '(document)';
    return `${name}: ${safeIssueMessage(issue)}`;
  });
}

/** How a problem names its field: a path prefix, or a function (e.g. auth.password → OS_PASSWORD). */
export type FieldNamer = string[] | ((path: string[]) => string);

function safeIssueMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      // `input` stays inside the issue object; only whether it was there is used.
      if (issue.input === undefined) return `missing (expected ${issue.expected})`;
      // Keep a schema's own explanation (e.g. "quote it"); zod's generic one starts with "Invalid input".
      return issue.message.startsWith('Invalid input') ? `expected ${issue.expected}` : issue.message;
    case 'unrecognized_keys':
      return `unknown field(s) ${issue.keys.join(', ')}`;
    default:
      // zod's own messages for the checks we use name limits and options, not inputs.
      return issue.message;
  }
}

/** Parses with `schema` or throws a ConfigError naming every bad field. */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, what: string, fieldName: FieldNamer = []): z.infer<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (!result.success) throw new ConfigError(`${what} is invalid`, describeIssues(result.error, fieldName));
  return result.data;
}
