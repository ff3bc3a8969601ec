// The OS_* variables' part of resolving an OpenStack cloud (clouds-yaml.ts has
// the rest): without the YAML parser, so that the CLI loads that only when it
// reads a clouds.yaml.
import { homedir } from 'node:os';
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { resolveCacert } from './cacert.js';
import { aboutCloud, namedCloud, type CloudFlag, type CloudNamedBy } from './cloud-choice.js';
import { ConfigError, cloudSchema, parseConfig, type CloudConfig } from './schema.js';

type Env = Record<string, string | undefined>;

/** Where openstacksdk looks for clouds.yaml, in its order: OS_CLIENT_CONFIG_FILE alone when set. */
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
export function withCloud<T>(cloud: string, clouds: string[], load: () => T): T {
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
export function traceCacert(trace: ConfigTrace | undefined, cacert: string | undefined, baseDir: string): void {
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
 * The first steps of clouds-yaml.ts's loadCloudFromOpenStackConfig, the ones
 * that need no YAML: an OS_CLIENT_CONFIG_FILE that does not exist is a
 * ConfigError; the OS_* variables' "envvars" cloud when they win (unless
 * `--cloud` or OS_CLOUD names a cloud); undefined when a clouds.yaml is to be read.
 */
export function cloudFromEnvFirst(flag: CloudFlag | undefined, env: Env, cwd: string, trace: ConfigTrace | undefined): ResolvedCloud | undefined {
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
  return undefined;
}
