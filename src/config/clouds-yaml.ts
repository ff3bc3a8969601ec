import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { resolveCacert } from './cacert.js';
import { aboutCloud, chooseCloud, namedCloud, type CloudFlag, type CloudNamedBy } from './cloud-choice.js';
import { ConfigError, cloudSchema, parseConfig, type CloudConfig } from './schema.js';

type Env = Record<string, string | undefined>;

/** Where openstacksdk looks for clouds.yaml, in its order: OS_CLIENT_CONFIG_FILE alone when set. */
export function candidateFiles(file: 'clouds.yaml' | 'secure.yaml', env: Env, cwd = process.cwd()): string[] {
  const explicit = file === 'clouds.yaml' ? env.OS_CLIENT_CONFIG_FILE : env.OS_CLIENT_SECURE_FILE;
  if (explicit) return [explicit];
  const home = env.HOME ?? homedir();
  return [join(cwd, file), join(home, '.config', 'openstack', file), join('/etc/openstack', file)];
}

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

/** The cloud named by the standard OS_* variables, in clouds.yaml shape (openstacksdk calls it "envvars"). */
export function cloudFromEnv(env: Env): Record<string, unknown> | undefined {
  if (!env.OS_AUTH_URL) return undefined;
  const pick = (...names: string[]) => names.map((n) => env[n]).find((v) => v !== undefined && v !== '');
  const auth = Object.fromEntries(
    Object.entries({
      auth_url: env.OS_AUTH_URL,
      username: pick('OS_USERNAME'),
      user_id: pick('OS_USER_ID'),
      password: pick('OS_PASSWORD'),
      project_name: pick('OS_PROJECT_NAME', 'OS_TENANT_NAME'),
      project_id: pick('OS_PROJECT_ID', 'OS_TENANT_ID'),
      user_domain_name: pick('OS_USER_DOMAIN_NAME'),
      user_domain_id: pick('OS_USER_DOMAIN_ID'),
      project_domain_name: pick('OS_PROJECT_DOMAIN_NAME'),
      project_domain_id: pick('OS_PROJECT_DOMAIN_ID'),
      domain_name: pick('OS_DOMAIN_NAME'),
      domain_id: pick('OS_DOMAIN_ID'),
      application_credential_id: pick('OS_APPLICATION_CREDENTIAL_ID'),
      application_credential_name: pick('OS_APPLICATION_CREDENTIAL_NAME'),
      application_credential_secret: pick('OS_APPLICATION_CREDENTIAL_SECRET'),
    }).filter(([, v]) => v !== undefined),
  );
  const cloud: Record<string, unknown> = { auth };
  const region = pick('OS_REGION_NAME');
  const iface = pick('OS_INTERFACE', 'OS_ENDPOINT_TYPE');
  const cacert = pick('OS_CACERT');
  const authType = pick('OS_AUTH_TYPE');
  const computeVersion = pick('OS_COMPUTE_API_VERSION');
  if (region) cloud.region_name = region;
  if (iface) cloud.interface = iface;
  if (cacert) cloud.cacert = cacert;
  if (authType) cloud.auth_type = authType;
  if (computeVersion) cloud.compute_api_version = computeVersion;
  if (env.OS_INSECURE && /^(1|true|yes)$/i.test(env.OS_INSECURE)) cloud.verify = false;
  return cloud;
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

/** clouds.yaml field → the OS_* variable that sets it, so errors name what the operator typed. */
const ENV_NAMES: Record<string, string> = {
  'auth.auth_url': 'OS_AUTH_URL',
  'auth.username': 'OS_USERNAME',
  'auth.user_id': 'OS_USER_ID',
  'auth.password': 'OS_PASSWORD',
  'auth.project_name': 'OS_PROJECT_NAME',
  'auth.project_id': 'OS_PROJECT_ID',
  'auth.user_domain_name': 'OS_USER_DOMAIN_NAME',
  'auth.project_domain_name': 'OS_PROJECT_DOMAIN_NAME',
  'auth.application_credential_id': 'OS_APPLICATION_CREDENTIAL_ID',
  'auth.application_credential_secret': 'OS_APPLICATION_CREDENTIAL_SECRET',
  region_name: 'OS_REGION_NAME',
  interface: 'OS_INTERFACE',
  cacert: 'OS_CACERT',
  auth_type: 'OS_AUTH_TYPE',
  compute_api_version: 'OS_COMPUTE_API_VERSION',
};

function envCloud(fromEnv: Record<string, unknown>, cwd: string, trace: ConfigTrace | undefined): ResolvedCloud {
  return withCloud('envvars', [], () => {
    const cloud = parseConfig(cloudSchema, fromEnv, 'the set of OS_* variables', (path) => ENV_NAMES[path.join('.')] ?? `OS_* (${path.join('.')})`);
    traceCacert(trace, cloud.cacert, cwd);
    const pem = resolveCacert(cloud.cacert, cwd, 'OS_CACERT');
    if (pem !== undefined) cloud.cacert = pem;
    return { name: 'envvars', cloud, source: 'OS_* variables', namedBy: 'OS_* variables' };
  });
}

/** Runs `load`, turning its ConfigError into one that names the cloud it was about (for `--json`). */
function withCloud<T>(cloud: string, clouds: string[], load: () => T): T {
  try {
    return load();
  } catch (err) {
    throw err instanceof ConfigError ? aboutCloud(err, { cloud, clouds }) : err;
  }
}

/**
 * Told of each configuration file as it is read (`force-down --debug` lists
 * them): what it is and its path, never its contents; and of a secure.yaml
 * at one of openstacksdk's standard places that force-down does not read.
 */
export interface ConfigTrace {
  read(what: 'clouds.yaml' | 'secure.yaml' | 'CA bundle', path: string): void;
  notRead?(path: string, why: string): void;
}

/** Reports the CA bundle file a `cacert` names (PEM text inline is no file). */
function traceCacert(trace: ConfigTrace | undefined, cacert: string | undefined, baseDir: string): void {
  if (trace && cacert !== undefined && !cacert.includes('-----BEGIN CERTIFICATE-----')) trace.read('CA bundle', isAbsolute(cacert) ? cacert : resolve(baseDir, cacert));
}

export interface ResolvedCloud {
  name: string;
  cloud: CloudConfig;
  /** Where it came from, for messages: a file path or "OS_* variables". */
  source: string;
  /** What chose it: a flag, OS_CLOUD, FORCE_DOWN_DEFAULT_CLOUD, the only cloud, or the OS_* variables. */
  namedBy: CloudNamedBy | 'OS_* variables';
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
  const named = namedCloud(flag, env);
  const cloudsFile = candidateFiles('clouds.yaml', env, cwd).find((p) => existsSync(p));
  if (env.OS_CLIENT_CONFIG_FILE && !cloudsFile) {
    throw new ConfigError(`OS_CLIENT_CONFIG_FILE names ${env.OS_CLIENT_CONFIG_FILE}, which does not exist`);
  }

  const fromEnv = cloudFromEnv(env);
  if (fromEnv && (named === undefined || named.namedBy === 'FORCE_DOWN_DEFAULT_CLOUD')) {
    if (cloudsFile) trace?.notRead?.(cloudsFile, 'the OS_* variables win unless --cloud or OS_CLOUD names a cloud');
    return envCloud(fromEnv, cwd, trace);
  }
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
