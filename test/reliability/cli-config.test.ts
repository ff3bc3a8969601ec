// The breakglass CLI's configuration files, attacked as issue #11 (finding 9)
// describes: a secure.yaml carrying an auth_url must never send the real
// credential anywhere. The bundled dist/cli.mjs, run as a process, against
// the lab's Keystone + Nova (reads only: `status`), with a listener on
// 127.0.0.1 standing in for the attacker's endpoint.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { buildCli, runCli } from '../integration/cli-run.js';
import { loadLab, type Lab } from '../integration/lab.js';

let lab: Lab;
let host: string;

/** The attacker's endpoint: counts every connection and every request it gets. */
let listener: Server;
let listenerUrl: string;
const received = { connections: 0, requests: 0, bodies: [] as string[] };

beforeAll(async () => {
  buildCli();
  lab = loadLab();
  host = lab.hosts.compute[0]!;
  listener = createServer((req, res) => {
    received.requests++;
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      received.bodies.push(body);
      res.writeHead(404).end();
    });
  });
  listener.on('connection', () => received.connections++);
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  listenerUrl = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/v3`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => listener.close(() => resolve()));
});

/** Runs the bundled CLI (runCli) with only `env`, in `cwd`. */
const cli = (args: string[], env: Record<string, string>, cwd: string) => runCli(args, env, { cwd });

/** The lab's clouds.yaml as written by the lab (the real secrets in it). */
const labClouds = () => parse(readFileSync(lab.cloudsYaml, 'utf8')) as { clouds: Record<string, { auth: Record<string, string> }> };

describe('secure.yaml carries credentials only (issue #11, finding 9)', () => {
  it('an auth_url in the secure.yaml beside clouds.yaml → exit 2 naming the file; the listener receives nothing', async () => {
    const real = labClouds().clouds['lab-appcred']!;
    const secret = real.auth.application_credential_secret!;
    const dir = mkdtempSync(join(tmpdir(), 'fd-conf-'));
    const { application_credential_secret: _kept, ...auth } = real.auth;
    writeFileSync(join(dir, 'clouds.yaml'), stringify({ clouds: { 'lab-appcred': { ...real, auth } } }));
    const secure = join(dir, 'secure.yaml');
    writeFileSync(secure, stringify({ clouds: { 'lab-appcred': { auth: { auth_url: listenerUrl, application_credential_secret: secret } } } }));
    const before = { ...received };

    const res = await cli(['status', host, '--cloud', 'lab-appcred'], { OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml') }, mkdtempSync(join(tmpdir(), 'fd-cwd-')));
    expect(res.code).toBe(2);
    expect(res.out).toBe('');
    expect(res.err.startsWith(`force-down: ${secure}: a secure.yaml may hold only credentials`)).toBe(true);
    expect(res.err).toContain('clouds.lab-appcred.auth.auth_url: says where the credentials are sent');
    expect(res.err).not.toContain(secret);
    expect(res.err).not.toContain(listenerUrl);
    expect(received.connections).toBe(before.connections);
    expect(received.requests).toBe(before.requests);

    // --json: the same refusal as JSON; still nothing sent.
    const json = await cli(['status', host, '--cloud', 'lab-appcred', '--json'], { OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml') }, dir);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.out)).toMatchObject({ ok: false, code: 'CONFIG_INVALID' });
    expect(received.connections).toBe(before.connections);
  });

  it('./secure.yaml planted in the working directory is not read when OS_CLIENT_CONFIG_FILE names the clouds.yaml: the real Keystone is used, the listener receives nothing, --debug says so', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'fd-cwd-'));
    const planted = join(cwd, 'secure.yaml');
    writeFileSync(planted, stringify({ clouds: { 'lab-admin': { auth: { auth_url: listenerUrl } }, 'lab-appcred': { auth: { auth_url: listenerUrl } } } }));
    const before = { ...received };

    const plain = await cli(['status', host, '--cloud', 'lab-admin', '--json'], { OS_CLIENT_CONFIG_FILE: lab.cloudsYaml }, cwd);
    const debug = await cli(['status', host, '--cloud', 'lab-admin', '--json', '--debug'], { OS_CLIENT_CONFIG_FILE: lab.cloudsYaml }, cwd);
    for (const res of [plain, debug]) {
      expect(res.code).toBe(0);
      expect(JSON.parse(res.out)).toMatchObject({ ok: true, cloud: 'lab-admin', service: { host, binary: 'nova-compute' } });
    }
    expect(plain.err).toBe('');
    // The JSON answer is the same whether or not --debug is given (the heartbeat moves: compare its shape).
    expect(Object.keys(JSON.parse(debug.out))).toEqual(Object.keys(JSON.parse(plain.out)));
    expect(debug.err.split('\n')).toEqual([
      `force-down: debug: read clouds.yaml ${lab.cloudsYaml}`,
      `force-down: debug: not read: ${planted} (force-down reads secure.yaml only from OS_CLIENT_SECURE_FILE or beside the clouds.yaml used (${lab.cloudsYaml}))`,
      `force-down: debug: cloud lab-admin (--cloud) from ${lab.cloudsYaml}`,
    ]);
    expect(received.connections).toBe(before.connections);
    expect(received.requests).toBe(before.requests);
  });
});

describe('a host name in another case (issue #11, finding 10): the lab Nova (SQLite) matches exactly', () => {
  it('status and force-down of an upper-cased lab host → exit 3 HOST_NOT_FOUND with "did you mean", refused at the lookup on both API paths', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'fd-cwd-'));
    const env = { OS_CLIENT_CONFIG_FILE: lab.cloudsYaml, FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '0' };
    const shouted = host.toUpperCase();
    expect(shouted).not.toBe(host);

    const status = await cli(['status', shouted, '--cloud', 'lab-admin'], env, cwd);
    expect(status.code).toBe(3);
    expect(status.err).toContain(`force-down: ${shouted} on lab-admin: HOST_NOT_FOUND: `);
    expect(status.err).toContain(`did you mean ${host}? (Nova's host names are case-sensitive)`);

    for (const pin of [[], ['--os-compute-api-version', '2.11']]) {
      const res = await cli([shouted, '--fenced', 'bmc', '--cloud', 'lab-admin', '--json', ...pin], env, cwd);
      expect(res.code).toBe(3);
      // Refused by the lookup (a GET), before any PUT: on the legacy path too, which sends a host name in its body.
      expect(JSON.parse(res.out)).toMatchObject({ ok: false, code: 'HOST_NOT_FOUND', host: shouted, didYouMean: [host], request: 'GET /os-services' });
    }
  });
});
