import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { resolveCacert } from './cacert.js';
import { ConfigError, parseConfig, secretDocumentSchema, type BmcEntry, type SecretDocument } from './schema.js';

/** Validates a secret document (from Secrets Manager or a file); names bad fields, never values. */
export function parseSecretDocument(text: string, source: string, baseDir = process.cwd()): SecretDocument {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the input: do not pass it on.
    throw new ConfigError(`${source} is not valid JSON`);
  }
  const doc = parseConfig(secretDocumentSchema, json, source);
  for (const [name, cloud] of Object.entries(doc.clouds)) {
    const pem = resolveCacert(cloud.cacert, baseDir, `clouds.${name}.cacert`);
    if (pem !== undefined) cloud.cacert = pem;
  }
  const problems: string[] = [];
  for (const [name, bmc] of Object.entries(doc.bmc ?? {})) {
    if (!Object.hasOwn(doc.clouds, name)) problems.push(`bmc.${name}: names no cloud of clouds (${Object.keys(doc.clouds).join(', ')})`);
    const entries: [string, BmcEntry | undefined][] = [['template', bmc.template], ...Object.entries(bmc.hosts).map(([h, e]): [string, BmcEntry] => [`hosts.${h}`, e])];
    for (const [where, entry] of entries) {
      const pem = resolveCacert(entry?.caCert, baseDir, `bmc.${name}.${where}.caCert`);
      if (entry && pem !== undefined) entry.caCert = pem;
    }
  }
  if (problems.length) throw new ConfigError(`${source} is invalid`, problems);
  return doc;
}

/** Reads the local secret file (`FORCE_DOWN_SECRET_FILE`). */
export function loadSecretFile(path: string): SecretDocument {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the secret file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseSecretDocument(text, `secret file ${path}`, dirname(path));
}
