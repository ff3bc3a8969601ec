import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { resolveCacert } from './cacert.js';
import { chooseCloud, namedCloud, type CloudFlag } from './cloud-choice.js';
import { candidateFiles, cloudFromEnvFirst, traceCacert, withCloud, type ConfigTrace, type ResolvedCloud } from './openstack-env.js';
import { ConfigError, cloudSchema, parseConfig } from './schema.js';

// The OS_* variables' part (no YAML parser) lives in openstack-env.ts; what callers use of it, from here as before.
export { candidateFiles, cloudFromEnv, type ConfigTrace, type ResolvedCloud } from './openstack-env.js';

type Env = Record<string, string | undefined>;

/**
 * The secure.yaml force-down reads for `cloudsFile`: OS_CLIENT_SECURE_FILE
 * when set (it must exist), else the secure.yaml beside the clouds.yaml used,
 * if there is one. Never another folder's: openstacksdk also takes
 * ./secure.yaml from the working directory (and ~/.config/openstack/,
 * /etc/openstack/) whatever clouds.yaml it uses, so a file planted in
 * whatever directory the operator happens to be in would be merged into the
 * cloud that holds the real credentials.
 */
export function secureFileFor(cloudsFile: string, env: Env): string | undefined {
  if (env.OS_CLIENT_SECURE_FILE) {
    if (!existsSync(env.OS_CLIENT_SECURE_FILE)) throw new ConfigError(`OS_CLIENT_SECURE_FILE names ${env.OS_CLIENT_SECURE_FILE}, which does not exist`);
    return env.OS_CLIENT_SECURE_FILE;
  }
  const beside = join(dirname(cloudsFile), 'secure.yaml');
  return existsSync(beside) ? beside : undefined;
}

/**
 * What secure.yaml may hold under `clouds.<name>.auth`: the secrets, and the
 * names and ids of whose secrets they are. Everything else is refused (a
 * ConfigError naming the file): in particular whatever says where the
 * credentials are sent or how the server is trusted (auth_url, endpoint,
 * endpoint_override, *_endpoint, *_endpoint_override, any *url*, region_name,
 * interface, cacert, verify, insecure, cert, key, auth_type), any other key of
 * a cloud, any top-level key but `clouds`, and a cloud clouds.yaml does not have.
 */
export const SECURE_AUTH_KEYS: ReadonlySet<string> = new Set([
  'password',
  'application_credential_secret',
  'token',
  'application_credential_id',
  'application_credential_name',
  'username',
  'user_id',
  'user_domain_name',
  'user_domain_id',
  'project_name',
  'project_id',
  'project_domain_name',
  'project_domain_id',
  'domain_name',
  'domain_id',
]);

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A key as it may appear in a message: printable, short (a key is not a value, but it is the file's text). */
const keyText = (k: string): string => {
  const clean = k.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 60 ? `${clean.slice(0, 60)}…` : clean;
};

function whyRefused(key: string): string {
  if (/url|endpoint|host|port/i.test(key)) return 'says where the credentials are sent';
  if (/^(region_name|interface)$/i.test(key)) return "chooses the endpoints Keystone's token is sent to";
  if (/^(cacert|verify|insecure|cert|key)$/i.test(key)) return 'says which servers are trusted';
  return 'is not a credential';
}

/** The problems of a secure.yaml document (key paths and why; never a value). Empty when it holds only credentials. */
export function secureProblems(doc: Record<string, unknown>, clouds: ReadonlySet<string>, cloudsFile: string): string[] {
  const problems: string[] = [];
  for (const [top, value] of Object.entries(doc)) {
    if (top !== 'clouds') {
      problems.push(`${keyText(top)}: ${whyRefused(top)}`);
      continue;
    }
    if (value === null || value === undefined) continue;
    if (!isMapping(value)) {
      problems.push('clouds: not a mapping');
      continue;
    }
    for (const [name, cloud] of Object.entries(value)) {
      const at = `clouds.${keyText(name)}`;
      if (!clouds.has(name)) problems.push(`${at}: ${cloudsFile} has no such cloud`);
      if (cloud === null || cloud === undefined) continue;
      if (!isMapping(cloud)) {
        problems.push(`${at}: not a mapping`);
        continue;
      }
      for (const [key, auth] of Object.entries(cloud)) {
        if (key !== 'auth') {
          problems.push(`${at}.${keyText(key)}: ${whyRefused(key)}`);
          continue;
        }
        if (auth === null || auth === undefined) continue;
        if (!isMapping(auth)) {
          problems.push(`${at}.auth: not a mapping`);
          continue;
        }
        for (const k of Object.keys(auth)) if (!SECURE_AUTH_KEYS.has(k)) problems.push(`${at}.auth.${keyText(k)}: ${whyRefused(k)}`);
      }
    }
  }
  return problems;
}

function readYaml(path: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    // A YAML parse error's message quotes the offending line, which may hold a password: keep only its position.
    const where = (err as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    if (where !== undefined) throw new ConfigError(`cannot read ${path}: YAML error at line ${where}`);
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`cannot read ${path}${code ? ` (${code})` : ': not valid YAML'}`);
  }
  return doc && typeof doc === 'object' ? (doc as Record<string, unknown>) : {};
}

function deepMerge(a: unknown, b: unknown): unknown {
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
    for (const [k, v] of Object.entries(b as Record<string, unknown>)) out[k] = deepMerge(out[k], v);
    return out;
  }
  return b === undefined ? a : b;
}

/**
 * Resolves a cloud the way the `openstack` CLI does, with force-down's
 * precedence for the name ({@link namedCloud}: `--cloud`/`--os-cloud`,
 * OS_CLOUD, FORCE_DOWN_DEFAULT_CLOUD, else the only cloud): from clouds.yaml
 * (merged with secure.yaml). The OS_* variables of a sourced openrc make the
 * "envvars" cloud, which wins unless `--cloud` or OS_CLOUD names a cloud (as
 * with the openstack CLI): FORCE_DOWN_DEFAULT_CLOUD is only a default.
 */
export function loadCloudFromOpenStackConfig(
  requested: CloudFlag | string | undefined,
  env: Env,
  cwd = process.cwd(),
  trace?: ConfigTrace,
): ResolvedCloud {
  const flag: CloudFlag | undefined = typeof requested === 'string' ? { name: requested, flag: '--cloud' } : requested;
  const fromEnv = cloudFromEnvFirst(flag, env, cwd, trace);
  if (fromEnv) return fromEnv;
  const named = namedCloud(flag, env);
  const cloudsFile = candidateFiles('clouds.yaml', env, cwd).find((p) => existsSync(p));
  if (!cloudsFile) {
    if (named === undefined) {
      throw new ConfigError(
        'no OpenStack credentials: set FORCE_DOWN_SECRET_FILE, or OS_CLOUD with a clouds.yaml, or the OS_* variables (OS_AUTH_URL …)',
      );
    }
    throw new ConfigError(
      `${named.namedBy} names "${named.name}" but no clouds.yaml was found (looked in ${candidateFiles('clouds.yaml', env, cwd).join(', ')})`,
    );
  }

  trace?.read('clouds.yaml', cloudsFile);
  let doc = readYaml(cloudsFile);
  const secureFile = secureFileFor(cloudsFile, env);
  if (trace?.notRead) {
    for (const p of candidateFiles('secure.yaml', { ...env, OS_CLIENT_SECURE_FILE: undefined }, cwd)) {
      if ((secureFile === undefined || resolve(p) !== resolve(secureFile)) && existsSync(p)) trace.notRead(p, `force-down reads secure.yaml only from OS_CLIENT_SECURE_FILE or beside the clouds.yaml used (${cloudsFile})`);
    }
  }
  if (secureFile) {
    trace?.read('secure.yaml', secureFile);
    const secure = readYaml(secureFile);
    const names = isMapping(doc.clouds) ? new Set(Object.keys(doc.clouds)) : new Set<string>();
    const problems = secureProblems(secure, names, cloudsFile);
    if (problems.length > 0) {
      throw new ConfigError(
        `${secureFile}: a secure.yaml may hold only credentials (clouds.<name>.auth: password, application_credential_secret, token, ` +
          `and the user, project and domain names and ids they belong to); force-down refuses this one and sent nothing. Move these to ${cloudsFile} or remove them`,
        problems,
      );
    }
    doc = deepMerge(doc, secure) as Record<string, unknown>;
  }
  const clouds = (doc.clouds ?? {}) as Record<string, unknown>;
  if (typeof clouds !== 'object' || Object.keys(clouds).length === 0) throw new ConfigError(`${cloudsFile} has no clouds`);

  const { name, namedBy, cloud: raw } = chooseCloud(clouds, flag, env, cloudsFile);
  return withCloud(name, Object.keys(clouds), () => {
    const cloud = parseConfig(cloudSchema, raw, cloudsFile, ['clouds', name]);
    traceCacert(trace, cloud.cacert, dirname(cloudsFile));
    const pem = resolveCacert(cloud.cacert, dirname(cloudsFile), `clouds.${name}.cacert`);
    if (pem !== undefined) cloud.cacert = pem;
    return { name, cloud, source: cloudsFile, namedBy };
  });
}
