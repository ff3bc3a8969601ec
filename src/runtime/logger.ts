import type { Logger } from '../app/ports.js';

const SECRET_KEY = /token|secret|password|signature|authorization|response_?url/i;

/**
 * Structured JSON logs, one object a line. Values under keys that name
 * secrets are replaced, whatever the caller passed.
 */
export function createJsonLogger(opts: { write?: (line: string) => void; base?: Record<string, unknown>; quiet?: boolean } = {}): Logger {
  const write = opts.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const emit = (level: string) => (message: string, data?: Record<string, unknown>) => {
    if (opts.quiet && level === 'info') return;
    const safe = data ? Object.fromEntries(Object.entries(data).map(([k, v]) => [k, SECRET_KEY.test(k) ? '[redacted]' : v])) : {};
    write(JSON.stringify({ time: new Date().toISOString(), level, message, ...opts.base, ...safe }));
  };
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}
