import { ConfigError } from './schema.js';

type Env = Record<string, string | undefined>;

/** What named the cloud: a flag, a variable, or nothing (the only cloud there is). */
export type CloudNamedBy = '--cloud' | '--os-cloud' | 'OS_CLOUD' | 'FORCE_DOWN_DEFAULT_CLOUD' | 'the only cloud';

/** A cloud name given on the command line, and the flag that gave it. */
export interface CloudFlag {
  name: string;
  flag: '--cloud' | '--os-cloud';
}

/** Which cloud a configuration problem was about, and the names there are (names are not secret), for `--json` answers. */
export interface CloudContext {
  cloud?: string;
  clouds?: string[];
}

/** Marks a ConfigError with the cloud it is about (kept on the error itself: message and problems unchanged). */
export function aboutCloud(err: ConfigError, where: CloudContext): ConfigError & CloudContext {
  return Object.assign(err, where);
}

/** The cloud context of a ConfigError, if it has one. */
export function cloudContextOf(err: ConfigError): CloudContext {
  const { cloud, clouds } = err as ConfigError & CloudContext;
  return { ...(cloud !== undefined ? { cloud } : {}), ...(clouds !== undefined ? { clouds } : {}) };
}

const set = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

/**
 * The cloud the operator named, first match wins: `--cloud`/`--os-cloud`, then
 * `OS_CLOUD`, then `FORCE_DOWN_DEFAULT_CLOUD` (empty values count as unset).
 * Undefined when nothing names one. The one precedence for every credential
 * source (the secret document and clouds.yaml).
 */
export function namedCloud(flag: CloudFlag | undefined, env: Env): { name: string; namedBy: CloudNamedBy } | undefined {
  if (flag && set(flag.name)) return { name: flag.name, namedBy: flag.flag };
  const osCloud = set(env.OS_CLOUD);
  if (osCloud) return { name: osCloud, namedBy: 'OS_CLOUD' };
  const byDefault = set(env.FORCE_DOWN_DEFAULT_CLOUD);
  if (byDefault) return { name: byDefault, namedBy: 'FORCE_DOWN_DEFAULT_CLOUD' };
  return undefined;
}

/**
 * Picks a cloud from `clouds`: the one named ({@link namedCloud}), else the
 * only one. Several and none named, or a name that is not there, is a
 * ConfigError listing the names there are (and what named the missing one).
 */
export function chooseCloud<T>(
  clouds: Record<string, T>,
  flag: CloudFlag | undefined,
  env: Env,
  source: string,
): { name: string; cloud: T; namedBy: CloudNamedBy } {
  const names = Object.keys(clouds);
  const named = namedCloud(flag, env);
  if (!named) {
    if (names.length === 1) return { name: names[0]!, cloud: clouds[names[0]!]!, namedBy: 'the only cloud' };
    throw aboutCloud(
      new ConfigError(
        names.length === 0
          ? `${source} has no clouds`
          : `${source} has several clouds (${names.join(', ')}): name one with --cloud, OS_CLOUD or FORCE_DOWN_DEFAULT_CLOUD`,
      ),
      { clouds: names },
    );
  }
  // hasOwn: a cloud named "constructor" or "__proto__" is not there either.
  if (!Object.hasOwn(clouds, named.name)) {
    throw aboutCloud(new ConfigError(`${source} has no cloud named "${named.name}" (named by ${named.namedBy}; it has: ${names.join(', ') || 'none'})`), {
      clouds: names,
    });
  }
  return { name: named.name, cloud: clouds[named.name]!, namedBy: named.namedBy };
}
