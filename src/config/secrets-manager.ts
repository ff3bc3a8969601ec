import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseSecretDocument } from './secret-document.js';
import { ConfigError, type SecretDocument } from './schema.js';

/** A cached source of the secret document. */
export interface SecretSource {
  /**
   * The cached document, or a fresh one when the TTL ran out or `refresh` is set (after an auth failure: rotation).
   * A re-fetch that finds the secret unchanged returns the same object as before.
   */
  get(options?: { refresh?: boolean }): Promise<SecretDocument>;
  /** Fetches made so far (for metrics and tests). */
  readonly fetchCount: number;
}

export interface SecretsManagerSourceOptions {
  secretId: string;
  /** How long a fetched document is used before it is fetched again. Default 5 minutes. */
  ttlMs?: number;
  client?: Pick<SecretsManagerClient, 'send'>;
  now?: () => number;
}

/**
 * Reads the secret document from AWS Secrets Manager, once per TTL, with one
 * fetch in flight at a time. The endpoint honours AWS_ENDPOINT_URL_SECRETS_MANAGER.
 */
export function createSecretsManagerSource(opts: SecretsManagerSourceOptions): SecretSource {
  const client = opts.client ?? new SecretsManagerClient({});
  const ttl = opts.ttlMs ?? 5 * 60_000;
  const now = opts.now ?? Date.now;
  let cached: { doc: SecretDocument; text: string; at: number } | undefined;
  let inflight: Promise<SecretDocument> | undefined;
  let fetchCount = 0;

  async function fetchDoc(): Promise<SecretDocument> {
    fetchCount++;
    let text: string | undefined;
    try {
      const out = await client.send(new GetSecretValueCommand({ SecretId: opts.secretId }));
      text = out.SecretString ?? (out.SecretBinary ? Buffer.from(out.SecretBinary).toString('utf8') : undefined);
    } catch (err) {
      const name = (err as { name?: string }).name ?? 'Error';
      throw new ConfigError(`cannot read secret ${opts.secretId} from Secrets Manager (${name})`);
    }
    if (text === undefined) throw new ConfigError(`secret ${opts.secretId} has no value`);
    // An unchanged secret yields the very same document object, so callers can tell a
    // rotation (rebuild clients) from a routine re-fetch (keep tokens and caches warm).
    const doc = cached?.text === text ? cached.doc : parseSecretDocument(text, `secret ${opts.secretId}`);
    cached = { doc, text, at: now() };
    return doc;
  }

  return {
    get fetchCount() {
      return fetchCount;
    },
    async get(options) {
      if (!options?.refresh && cached && now() - cached.at < ttl) return cached.doc;
      inflight ??= fetchDoc().finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
  };
}
