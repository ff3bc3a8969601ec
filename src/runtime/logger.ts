import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Logger } from '../app/ports.js';

/** The `service` of every log line and metric of the Lambda functions (Powertools' `service` key and dimension). */
export const SERVICE_NAME = 'force-down';

const SECRET_KEY = /token|secret|password|signature|authorization|response_?url|credential/i;

/** A logger that can add fields to every line it writes. */
export interface JsonLogger extends Logger {
  /** A logger whose lines also carry `fields` (after this one's own). */
  child(fields: Record<string, unknown>): JsonLogger;
}

/** Fields of the invocation being handled (correlation id, …), added to every line written inside it. */
const context = new AsyncLocalStorage<Record<string, unknown>>();

/**
 * Runs `fn` with `fields` (a correlation id, Lambda's request id) added to
 * every log line written while it runs, by any JSON logger, through awaits and
 * callbacks. Nested calls add to the outer fields.
 */
export function runWithLogContext<T>(fields: Record<string, unknown>, fn: () => T): T {
  return context.run({ ...context.getStore(), ...fields }, fn);
}

/** The fields of the current log context (empty outside one). */
export function currentLogContext(): Readonly<Record<string, unknown>> {
  return context.getStore() ?? {};
}

/** Replaces values under keys that name secrets, at any depth. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) return { name: value.name };
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1)]));
}

/**
 * Structured JSON logs, one object a line: time, level, message, the base
 * fields, the current log context (see {@link runWithLogContext}), then the
 * call's data. Values under keys that name secrets are replaced, at any depth,
 * whatever the caller passed; an Error is logged by its name only.
 */
export function createJsonLogger(opts: { write?: (line: string) => void; base?: Record<string, unknown>; quiet?: boolean } = {}): JsonLogger {
  const write = opts.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const emit = (level: string) => (message: string, data?: Record<string, unknown>) => {
    if (opts.quiet && level === 'info') return;
    const fields = redact({ ...opts.base, ...context.getStore(), ...data }) as Record<string, unknown>;
    write(JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }));
  };
  return {
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => createJsonLogger({ ...opts, base: { ...opts.base, ...fields } }),
  };
}

/**
 * The Lambda functions' logger: Powertools for AWS Lambda's Logger, so each
 * line has the shape Lambda users already query (`level`, `message`,
 * `timestamp`, `service`, `xray_trace_id`, …; level from
 * `POWERTOOLS_LOG_LEVEL`), then the base fields, the current log context
 * (correlation id, Lambda's request id; see {@link runWithLogContext}) and the
 * call's data, with the same redaction as {@link createJsonLogger}: values
 * under keys that name secrets are replaced at any depth before Powertools
 * sees them, and an Error is logged by its name only.
 */
export function createLambdaLogger(opts: { base?: Record<string, unknown>; logger?: PowertoolsLogger } = {}): JsonLogger {
  // Powertools would log an Error's message and stack: by its name only, like everywhere else.
  const logger = opts.logger ?? new PowertoolsLogger({ serviceName: SERVICE_NAME, jsonReplacerFn: (_key, value) => (value instanceof Error ? { name: value.name } : value) });
  const emit = (level: 'info' | 'warn' | 'error') => (message: string, data?: Record<string, unknown>) => {
    logger[level](message, redact({ ...opts.base, ...context.getStore(), ...data }) as Record<string, unknown>);
  };
  return {
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => createLambdaLogger({ logger, base: { ...opts.base, ...fields } }),
  };
}
