import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { resolveCacert } from './cacert.js';
import { aboutCloud, chooseCloud, namedCloud, type CloudFlag, type CloudNamedBy } from './cloud-choice.js';
import { ConfigError, cloudSchema, parseConfig, type CloudConfig } from './schema.js';

type Env = Record<string, string | undefined>;

/** Where openstacksdk looks for clouds.yaml / secure.yaml, in its order. */
export function candidateFiles(file: 'clouds.yaml' | 'secure.yaml', env: Env, cwd = process.cwd()): string[] {
  const explicit = file === 'clouds.yaml' ? env.OS_CLIENT_CONFIG_FILE : env.OS_CLIENT_SECURE_FILE;
  if (explicit) return [explicit];
  const home = env.HOME ?? homedir();
  return [join(cwd, file), join(home, '.config', 'openstack', file), join('/etc/openstack', file)];
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

function envCloud(fromEnv: Record<string, unknown>, cwd: string): ResolvedCloud {
  return withCloud('envvars', [], () => {
    const cloud = parseConfig(cloudSchema, fromEnv, 'the set of OS_* variables', (path) => ENV_NAMES[path.join('.')] ?? `OS_* (${path.join('.')})`);
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
export function loadCloudFromOpenStackConfig(requested: CloudFlag | string | undefined, env: Env, cwd = process.cwd()): ResolvedCloud {
  const flag: CloudFlag | undefined = typeof requested === 'string' ? { name: requested, flag: '--cloud' } : requested;
  const named = namedCloud(flag, env);
  const cloudsFile = candidateFiles('clouds.yaml', env, cwd).find((p) => existsSync(p));
  if (env.OS_CLIENT_CONFIG_FILE && !cloudsFile) {
    throw new ConfigError(`OS_CLIENT_CONFIG_FILE names ${env.OS_CLIENT_CONFIG_FILE}, which does not exist`);
  }

  const fromEnv = cloudFromEnv(env);
  if (fromEnv && (named === undefined || named.namedBy === 'FORCE_DOWN_DEFAULT_CLOUD')) return envCloud(fromEnv, cwd);
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

  let doc = readYaml(cloudsFile);
  const secureFile = candidateFiles('secure.yaml', env, cwd).find((p) => existsSync(p));
  if (secureFile) doc = deepMerge(doc, readYaml(secureFile)) as Record<string, unknown>;
  const clouds = (doc.clouds ?? {}) as Record<string, unknown>;
  if (typeof clouds !== 'object' || Object.keys(clouds).length === 0) throw new ConfigError(`${cloudsFile} has no clouds`);

  const { name, namedBy, cloud: raw } = chooseCloud(clouds, flag, env, cloudsFile);
  return withCloud(name, Object.keys(clouds), () => {
    const cloud = parseConfig(cloudSchema, raw, cloudsFile, ['clouds', name]);
    const pem = resolveCacert(cloud.cacert, dirname(cloudsFile), `clouds.${name}.cacert`);
    if (pem !== undefined) cloud.cacert = pem;
    return { name, cloud, source: cloudsFile, namedBy };
  });
}
