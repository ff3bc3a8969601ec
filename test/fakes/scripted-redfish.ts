// A BMC that says whatever a test scripts, for the Redfish fuzz tests: an HTTPS server (the fake
// BMC's test certificate, test/fakes/redfish-tls) answering each request from a script of answers,
// any status, any body (JSON, an HTML page, junk), any headers; it records what it served.
// Unlike test/fakes/redfish.ts it knows nothing of Redfish: the script is the whole BMC.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { FAKE_BMC_CA, FAKE_BMC_CA_FILE } from './redfish.js';

const KEY = readFileSync(FAKE_BMC_CA_FILE.replace('bmc-cert.pem', 'bmc-key.pem'), 'utf8');

export interface ScriptedAnswer {
  status: number;
  /** A JSON value, raw text (an HTML page, truncated JSON), or nothing. */
  body: { json: unknown } | { text: string } | null;
  headers: Record<string, string>;
}

export interface ServedAnswer {
  method: string;
  /** The request's path, without its query. */
  path: string;
  status: number;
  /** The JSON body (as sent, when `rewrite` may have changed it); undefined for text or no body. */
  body: unknown;
  /** The request's body. */
  sent: string;
  /** The answer carried an X-Auth-Token header. */
  token: boolean;
}

/**
 * Per key, the answers in order; the last one repeats. A request takes the answers of
 * `<METHOD> <path>`, else of `<path>`, else of `*`; none: 404, no body.
 */
export type Script = Map<string, ScriptedAnswer[]>;

export interface ScriptedRedfishOptions {
  /** `/redfish/v1/Systems/` is looked up as `/redfish/v1/Systems` (default: paths as sent). */
  trimTrailingSlash?: boolean;
  /** A text body starting with `<` goes out as text/html, as a BMC's login page does (default: every body is labelled JSON). */
  htmlAsHtml?: boolean;
  /** Changes an answer on its way out (e.g. hands out session tokens): its headers (a copy) and body text. */
  rewrite?: (request: { method: string; path: string }, answer: { status: number; headers: Record<string, string>; text: string }) => { headers: Record<string, string>; text: string };
}

export interface ScriptedRedfish {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  /** What it answered since the last `install`, in order. */
  readonly served: ServedAnswer[];
  /** Answers from `script` from now on (the lists are used up: pass copies), and forgets what it served. */
  install(script: Script): void;
  close(): Promise<void>;
}

export async function startScriptedRedfish(options: ScriptedRedfishOptions = {}): Promise<ScriptedRedfish> {
  let script: Script = new Map();
  const served: ServedAnswer[] = [];
  const server = createServer({ key: KEY, cert: FAKE_BMC_CA }, (req, res) => {
    let sent = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (sent += c));
    req.on('end', () => {
      const method = req.method ?? '';
      const pathname = new URL(req.url ?? '/', 'https://x').pathname;
      const path = options.trimTrailingSlash ? pathname.replace(/(.)\/$/, '$1') : pathname;
      const list = script.get(`${method} ${path}`) ?? script.get(path) ?? script.get('*') ?? [];
      const a = list.length > 1 ? list.shift()! : (list[0] ?? { status: 404, body: null, headers: {} });
      const raw = a.body === null ? '' : 'json' in a.body ? JSON.stringify(a.body.json) : a.body.text;
      const { headers, text } = options.rewrite ? options.rewrite({ method, path }, { status: a.status, headers: { ...a.headers }, text: raw }) : { headers: a.headers, text: raw };
      const body = a.body && 'json' in a.body ? (options.rewrite ? JSON.parse(text) : a.body.json) : undefined;
      served.push({ method, path, status: a.status, body, sent, token: 'x-auth-token' in headers });
      const html = options.htmlAsHtml && a.body !== null && 'text' in a.body && a.body.text.startsWith('<');
      res.writeHead(a.status, { ...(text ? { 'content-type': html ? 'text/html' : 'application/json' } : {}), ...headers });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    served,
    install(next) {
      script = next;
      served.length = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
