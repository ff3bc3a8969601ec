import { existsSync, readFileSync } from 'node:fs';
import { cloudSchema, type CloudConfig } from '../../src/config/schema.js';
import { until } from './wait.js';

/**
 * An instance test/lab/seed_instances.py put on an evacuation test host, as seeded (the state
 * test/integration/evacuation.ts's resetEvacuations() puts it back to). Owned by the lab's
 * Keystone project `evac`.
 */
export interface SeededInstance {
  id: string;
  name: string;
  /** Nova's vm_state: `active`, `stopped`, `error`, `paused`. */
  vm_state: string;
  /** `rebooting` for evac4's second instance, null otherwise. */
  task_state: string | null;
  power_state: number;
  /** What the API shows: ACTIVE, SHUTOFF, ERROR, PAUSED, REBOOT. */
  status: string;
  /** Metadata `HA_Enabled=True` (Masakari's mark of an HA instance). */
  ha: boolean;
}

/** What test/lab/start.sh writes to $FORCE_DOWN_LAB_DIR/lab.json. */
export interface Lab {
  dir: string;
  keystone: string;
  nova: string;
  /** The lab's Neutron stand-in (test/lab/neutron_stub.py), e.g. http://127.0.0.1:9696; absent in a lab that predates it. */
  neutron?: string;
  clouds: { admin: CloudConfig; member: CloudConfig; appcred: CloudConfig };
  hosts: {
    compute: string[];
    scheduler: string;
    evacuated: string;
    alert: string[];
    fault: string[];
    /** hb1..hb4: the heartbeat tests' hosts, silent (`down`, not forced) at lab start (test/integration/heartbeat.ts). */
    heartbeat: string[];
    /** bmc1..bmc4: the BMC (Redfish) tests' hosts, seeded and kept up like compute1..6. */
    bmc: string[];
    /**
     * evac1..evac4: the evacuation tests' hosts, seeded and kept up like compute1..6, with
     * instances (`instances`) and a compute node record each.
     */
    evac: string[];
  };
  /**
   * The instances seeded on each evac host, in creation order: evac1 5 (3 ACTIVE, 1 SHUTOFF,
   * 1 ERROR; the first and the SHUTOFF one HA), evac2 3 ACTIVE, evac3 60 ACTIVE, evac4 3
   * (ACTIVE; ACTIVE in task state `rebooting`; PAUSED, which Nova refuses to evacuate).
   */
  instances: Record<string, SeededInstance[]>;
  /** Owner of the seeded instances: the lab's Keystone project and user `evac`. */
  evacOwner?: { project_id: string; user_id: string };
  cloudsYaml: string;
  /** Nova's cell1 SQLite DB (WAL): the services table nova-compute's heartbeats land in. */
  novaCell1Db: string;
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
    ...(raw.neutron ? { neutron: raw.neutron } : {}),
    clouds: {
      admin: cloudSchema.parse(raw.clouds.admin),
      member: cloudSchema.parse(raw.clouds.member),
      appcred: cloudSchema.parse(raw.clouds.appcred),
    },
    hosts: { heartbeat: [], bmc: [], evac: [], ...raw.hosts },
    instances: raw.instances ?? {},
    ...(raw.evac_owner ? { evacOwner: raw.evac_owner } : {}),
    cloudsYaml: `${LAB_DIR}/clouds.yaml`,
    // (A lab started before lab.json listed it: start.sh's path.)
    novaCell1Db: raw.nova_cell1_db ?? `${LAB_DIR}/nova/nova_cell1.sqlite`,
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
    async service(host: string): Promise<{ id: string; state: string; forced_down: boolean; status: string; updated_at: string | null }> {
      const res = await request('GET', `/os-services?binary=nova-compute&host=${encodeURIComponent(host)}`);
      const svc = res.body?.services?.[0];
      if (!svc) throw new Error(`probe: no nova-compute on ${host}`);
      return svc;
    },
    /**
     * `PUT /os-services/{id}` with `forced_down`, for the test's own set-up and clean-up. A 5xx is
     * tried again (up to 60 s): the lab's nova-api on SQLite now and then answers a write with 500
     * "database is locked" when another write lands at the same moment (Nova does not retry it).
     * 4xx answers are returned as they are.
     */
    async setForcedDown(host: string, forcedDown: boolean): Promise<{ status: number; body: any }> {
      const svc = await this.service(host);
      return until(`Nova to take forced_down=${forcedDown} for ${host}`, async () => {
        const res = await request('PUT', `/os-services/${svc.id}`, { forced_down: forcedDown });
        return res.status >= 500 ? undefined : res;
      }, { everyMs: 200 });
    },
    /** Puts a host back to forced_down=false (test clean-up), whatever the code under test did (compute6's 400 is left as it is). */
    async reset(host: string): Promise<void> {
      const svc = await this.service(host);
      if (svc.forced_down) await this.setForcedDown(host, false);
    },
    /** Revokes a token at Keystone (DELETE /v3/auth/tokens). */
    async revoke(subject: string): Promise<number> {
      const res = await fetch(`${lab.keystone}/auth/tokens`, { method: 'DELETE', headers: { 'x-auth-token': await this.token(), 'x-subject-token': subject } });
      return res.status;
    },
  };
}
