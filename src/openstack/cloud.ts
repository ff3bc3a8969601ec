import type { CloudConfig } from '../config/schema.js';
import { createHttpClient, type HttpClient, type HttpDeps, type HttpSettings } from './http.js';
import { createKeystoneSession, type KeystoneSession } from './keystone.js';
import { createNovaClient, type NovaClient } from './nova.js';
import { createServersClient, type ServersClient } from './servers.js';

/** Everything needed to talk to one cloud. Build once per process (cold start) and reuse. */
export interface CloudClient {
  name: string;
  session: KeystoneSession;
  nova: NovaClient;
  /** Instances on a host and their evacuation (the EvacuateGateway). */
  servers: ServersClient;
  close(): Promise<void>;
}

export interface CloudClientOptions {
  http?: Partial<HttpSettings>;
  httpDeps?: HttpDeps;
  now?: () => number;
}

/**
 * Composes HTTP, Keystone and Nova for a validated cloud. `cloud.cacert` must
 * already hold PEM text (the config loaders resolve clouds.yaml file paths).
 */
export function createCloudClient(name: string, cloud: CloudConfig, options: CloudClientOptions = {}): CloudClient {
  const http: HttpClient = createHttpClient(
    { ...options.http, verify: cloud.verify, ...(cloud.cacert ? { ca: cloud.cacert } : {}) },
    options.httpDeps,
  );
  const session = createKeystoneSession(cloud, { http, ...(options.now ? { now: options.now } : {}) });
  const pin = cloud.compute_api_version ? { microversion: cloud.compute_api_version } : {};
  const nova = createNovaClient({ session, http, ...pin });
  const servers = createServersClient({ session, http, ...pin });
  return { name, session, nova, servers, close: () => http.close() };
}
