import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
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
  /** How long a fetched document is used before it is fetched again (whole seconds). Default 5 minutes. */
  ttlMs?: number;
  client?: SecretsManagerClient;
}

/**
 * Reads the secret document from AWS Secrets Manager through Powertools for
 * AWS Lambda's Parameters (`SecretsProvider.get` with `maxAge`, and
 * `forceFetch` for a forced re-read), with one read in flight at a time. The
 * endpoint honours AWS_ENDPOINT_URL_SECRETS_MANAGER.
 *
 * A value that does not parse is never served. When a forced re-read finds
 * one while a good document is held (a rotation half done), the good document
 * stays in use until its own TTL runs out; after that the read fails loudly.
 */
export function createSecretsManagerSource(opts: SecretsManagerSourceOptions): SecretSource {
  const client = opts.client ?? new SecretsManagerClient({});
  let fetchCount = 0;
  client.middlewareStack.add(
    (next) => async (args) => {
      fetchCount++;
      return next(args);
    },
    { step: 'initialize', name: 'forceDownCountSecretReads' },
  );
  const provider = new SecretsProvider({ awsSdkV3Client: client });
  const ttl = opts.ttlMs ?? 5 * 60_000;
  const maxAge = Math.max(1, Math.round(ttl / 1000));
  let cached: { doc: SecretDocument; text: string; at: number } | undefined;
  let inflight: Promise<SecretDocument> | undefined;

  async function read(refresh: boolean): Promise<SecretDocument> {
    const before = fetchCount;
    let value: string | Uint8Array | undefined;
    try {
      value = await provider.get(opts.secretId, { maxAge, forceFetch: refresh });
    } catch (err) {
      // Powertools wraps the SDK's error (GetParameterError): name the SDK's, never quote a message.
      const e = err as { name?: string; cause?: { name?: string } };
      throw new ConfigError(`cannot read secret ${opts.secretId} from Secrets Manager (${e.cause?.name ?? e.name ?? 'Error'})`);
    }
    const text = typeof value === 'string' ? value : value ? Buffer.from(value).toString('utf8') : undefined;
    if (text === undefined) throw new ConfigError(`secret ${opts.secretId} has no value`);
    const fetched = fetchCount > before;
    // An unchanged secret yields the very same document object, so callers can tell a
    // rotation (rebuild clients) from a routine re-fetch (keep tokens and caches warm).
    if (cached?.text === text) {
      if (fetched) cached.at = Date.now();
      return cached.doc;
    }
    try {
      cached = { doc: parseSecretDocument(text, `secret ${opts.secretId}`), text, at: Date.now() };
    } catch (err) {
      if (cached && Date.now() - cached.at < ttl && !fetched) return cached.doc; // a bad value already reported, within the good one's TTL
      throw err;
    }
    return cached.doc;
  }

  return {
    get fetchCount() {
      return fetchCount;
    },
    async get(options) {
      inflight ??= read(options?.refresh === true).finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
  };
}
