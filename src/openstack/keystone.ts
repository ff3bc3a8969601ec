import type { CloudConfig } from '../config/schema.js';
import type { Failure } from '../domain/failure.js';
import { TransportError, type HttpClient } from './http.js';

/** A project-scoped token and the compute endpoint it unlocks. */
export interface Token {
  value: string;
  /** Epoch ms. */
  expiresAt: number;
  computeUrl: string;
}

/**
 * The failure of a Keystone or Nova call, as data. Thrown inside the
 * openstack module only, and turned into an `Outcome` at its public edge.
 */
export class OpenStackError extends Error {
  override readonly name = 'OpenStackError';
  constructor(readonly failure: Failure, options?: { cause?: unknown }) {
    super(`${failure.code}: ${failure.message}`, options);
  }
}

export interface KeystoneSession {
  /** A cached token, or a fresh one when none is cached or it expires soon. */
  getToken(): Promise<Token>;
  /** Drops the cached token (Nova answered 401 with it). The next getToken() re-authenticates. */
  invalidate(token: Token): void;
  /** Number of token requests made to Keystone (for audit and tests). */
  readonly authCount: number;
}

export interface KeystoneDeps {
  http: HttpClient;
  now?: () => number;
}

/** Refresh a token this long before Keystone's `expires_at` (clock skew, long calls). */
export const TOKEN_REFRESH_MARGIN_MS = 120_000;

/** Normalizes an auth_url to its v3 root, as keystoneauth does for a versionless URL. */
export function identityV3Url(authUrl: string): string {
  const trimmed = authUrl.replace(/\/+$/, '');
  return /\/v3$/.test(trimmed) ? trimmed : `${trimmed}/v3`;
}

/** Builds the POST /v3/auth/tokens body for a clouds.yaml cloud. Secrets stay in this object only. */
export function buildAuthRequest(cloud: CloudConfig): unknown {
  const a = cloud.auth;
  if (a.application_credential_secret !== undefined) {
    const credential: Record<string, unknown> = { secret: a.application_credential_secret };
    if (a.application_credential_id) credential.id = a.application_credential_id;
    else {
      credential.name = a.application_credential_name;
      credential.user = userRef(a);
    }
    // An application credential is bound to its project: no scope may be sent.
    return { auth: { identity: { methods: ['application_credential'], application_credential: credential } } };
  }
  const project: Record<string, unknown> = a.project_id
    ? { id: a.project_id }
    : { name: a.project_name, domain: domainRef(a.project_domain_id, a.project_domain_name, a) };
  return {
    auth: {
      identity: { methods: ['password'], password: { user: { ...userRef(a), password: a.password } } },
      scope: { project },
    },
  };
}

function userRef(a: CloudConfig['auth']): Record<string, unknown> {
  if (a.user_id) return { id: a.user_id };
  return { name: a.username, domain: domainRef(a.user_domain_id, a.user_domain_name, a) };
}

function domainRef(id: string | undefined, name: string | undefined, a: CloudConfig['auth']): Record<string, string> {
  if (id) return { id };
  if (name) return { name };
  if (a.domain_id) return { id: a.domain_id };
  // keystoneauth's default when nothing is said.
  return { name: a.domain_name ?? 'Default' };
}

const tokenBodyOf = (body: unknown) =>
  (body as { token?: { expires_at?: string; catalog?: CatalogEntry[] } } | undefined)?.token;

interface CatalogEntry {
  type?: string;
  endpoints?: { interface?: string; region?: string; region_id?: string; url?: string }[];
}

/** Picks the compute endpoint for the cloud's region and interface from a token's catalog. */
export function findComputeEndpoint(catalog: CatalogEntry[] | undefined, cloud: CloudConfig): string | undefined {
  const compute = (catalog ?? []).find((e) => e.type === 'compute');
  const match = compute?.endpoints?.find(
    (ep) =>
      ep.interface === cloud.interface &&
      (cloud.region_name === undefined || ep.region_id === cloud.region_name || ep.region === cloud.region_name),
  );
  return match?.url?.replace(/\/+$/, '');
}

/** Creates a Keystone v3 session for one cloud: token cached until shortly before expiry, one auth in flight at a time. */
export function createKeystoneSession(cloud: CloudConfig, deps: KeystoneDeps): KeystoneSession {
  const now = deps.now ?? Date.now;
  const tokensUrl = `${identityV3Url(cloud.auth.auth_url)}/auth/tokens`;
  let cached: Token | undefined;
  let inflight: Promise<Token> | undefined;
  let authCount = 0;

  async function authenticate(): Promise<Token> {
    authCount++;
    let res;
    try {
      res = await deps.http.send({ method: 'POST', url: tokensUrl, json: buildAuthRequest(cloud) });
    } catch (err) {
      if (err instanceof TransportError) {
        throw new OpenStackError(
          {
            code: 'KEYSTONE_UNAVAILABLE',
            message: `Keystone did not answer: ${err.message}`,
            request: 'POST /v3/auth/tokens',
            ...(err.lastStatus ? { status: err.lastStatus } : {}),
          },
          { cause: err },
        );
      }
      throw err;
    }
    if (res.status >= 500) {
      throw new OpenStackError({
        code: 'KEYSTONE_UNAVAILABLE',
        message: `Keystone answered HTTP ${res.status}`,
        detail: errorMessageOf(res.body) ?? '',
        status: res.status,
        request: 'POST /v3/auth/tokens',
      });
    }
    if (res.status !== 201 && res.status !== 200) {
      throw new OpenStackError({
        code: 'AUTH_FAILED',
        message: `Keystone refused the credentials of this cloud (HTTP ${res.status})`,
        detail: errorMessageOf(res.body) ?? '',
        status: res.status,
        request: 'POST /v3/auth/tokens',
      });
    }
    const subject = res.headers['x-subject-token'];
    const value = Array.isArray(subject) ? subject[0] : subject;
    const token = tokenBodyOf(res.body);
    const expiresAt = token?.expires_at ? Date.parse(token.expires_at) : NaN;
    if (!value || Number.isNaN(expiresAt)) {
      throw new OpenStackError({
        code: 'AUTH_FAILED',
        message: 'Keystone answered without a token or its expiry',
        status: res.status,
        request: 'POST /v3/auth/tokens',
      });
    }
    const computeUrl = findComputeEndpoint(token?.catalog, cloud);
    if (!computeUrl) {
      throw new OpenStackError({
        code: 'ENDPOINT_NOT_FOUND',
        message: `the Keystone catalog has no compute endpoint with interface "${cloud.interface}"${
          cloud.region_name ? ` in region "${cloud.region_name}"` : ''
        }`,
        request: 'POST /v3/auth/tokens',
      });
    }
    return { value, expiresAt, computeUrl };
  }

  return {
    get authCount() {
      return authCount;
    },
    async getToken() {
      if (cached && cached.expiresAt - TOKEN_REFRESH_MARGIN_MS > now()) return cached;
      // Concurrent callers share one authentication.
      inflight ??= authenticate().finally(() => {
        inflight = undefined;
      });
      cached = await inflight;
      return cached;
    },
    invalidate(token) {
      if (cached?.value === token.value) cached = undefined;
    },
  };
}

/** Extracts the human message from a Keystone or Nova error body. */
export function errorMessageOf(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  // Keystone: {"error": {"message": …}}; Nova: {"badRequest": {"message": …}}, {"itemNotFound": …}, {"forbidden": …}
  for (const value of Object.values(body as Record<string, unknown>)) {
    if (value && typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string') {
      return (value as { message: string }).message;
    }
  }
  return undefined;
}
