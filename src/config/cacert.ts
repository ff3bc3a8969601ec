import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from './schema.js';

/**
 * `cacert` is PEM text in the secret document and a file path in clouds.yaml.
 * Accept both everywhere; resolve relative paths against the config file's folder.
 */
export function resolveCacert(value: string | undefined, baseDir: string, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (value.includes('-----BEGIN CERTIFICATE-----')) return value;
  const path = isAbsolute(value) ? value : resolve(baseDir, value);
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${field}: cannot read the CA bundle file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`${field}: ${path} holds no PEM certificate`);
  return pem;
}
