import { existsSync, readFileSync } from 'node:fs';
import { cloudSchema, type CloudConfig } from '../../src/config/schema.js';

/** What test/lab/start.sh writes to $FORCE_DOWN_LAB_DIR/lab.json. */
export interface Lab {
  dir: string;
  keystone: string;
  nova: string;
  clouds: { admin: CloudConfig; member: CloudConfig; appcred: CloudConfig };
  hosts: { compute: string[]; scheduler: string; evacuated: string; alert: string[]; fault: string[] };
  cloudsYaml: string;
}

export const LAB_DIR = process.env.FORCE_DOWN_LAB_DIR ?? '/tmp/force-down-lab';

export function loadLab(): Lab {
  const file = `${LAB_DIR}/lab.json`;
  if (!existsSync(file)) throw new Error(`no lab at ${LAB_DIR}: run "npm run lab:start" (after "bash test/lab/install.sh")`);
  const raw = JSON.parse(readFileSync(file, 'utf8'));
  return {
    dir: LAB_DIR,
    keystone: raw.keystone,
    nova: raw.nova,
    clouds: {
      admin: cloudSchema.parse(raw.clouds.admin),
      member: cloudSchema.parse(raw.clouds.member),
      appcred: cloudSchema.parse(raw.clouds.appcred),
    },
    hosts: raw.hosts,
    cloudsYaml: `${LAB_DIR}/clouds.yaml`,
  };
}

/**
 * An independent view of Nova for assertions: plain fetch, its own token,
 * none of the code under test.
 */
export function createNovaProbe(lab: Lab) {
  let token: string | undefined;
  const a = lab.clouds.admin.auth;
  async function auth(): Promise<string> {
    const res = await fetch(`${lab.keystone}/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: { methods: ['password'], password: { user: { name: a.username, domain: { name: a.user_domain_name ?? 'Default' }, password: a.password } } },
          scope: { project: { name: a.project_name, domain: { name: a.project_domain_name ?? 'Default' } } },
        },
      }),
    });
    if (res.status !== 201) throw new Error(`probe: keystone said ${res.status}`);
    return res.headers.get('x-subject-token')!;
  }
  async function request(method: string, path: string, body?: unknown, microversion = '2.53') {
    token ??= await auth();
    const res = await fetch(`${lab.nova}${path}`, {
      method,
      headers: { 'x-auth-token': token, 'openstack-api-version': `compute ${microversion}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
  }
  return {
    token: async () => (token ??= await auth()),
    request,
    /** Nova's own record of a host's nova-compute service. */
    async service(host: string): Promise<{ id: string; state: string; forced_down: boolean; status: string }> {
      const res = await request('GET', `/os-services?binary=nova-compute&host=${encodeURIComponent(host)}`);
      const svc = res.body?.services?.[0];
      if (!svc) throw new Error(`probe: no nova-compute on ${host}`);
      return svc;
    },
    /** Puts a host back to forced_down=false (test clean-up), whatever the code under test did. */
    async reset(host: string): Promise<void> {
      const svc = await this.service(host);
      if (svc.forced_down) await request('PUT', `/os-services/${svc.id}`, { forced_down: false });
    },
    /** Revokes a token at Keystone (DELETE /v3/auth/tokens). */
    async revoke(subject: string): Promise<number> {
      const res = await fetch(`${lab.keystone}/auth/tokens`, { method: 'DELETE', headers: { 'x-auth-token': await this.token(), 'x-subject-token': subject } });
      return res.status;
    },
  };
}
