// Times as Nova and people see them. Pure: shared by the CLI and the Slack texts.

/**
 * Parses an ISO 8601 time; Nova's naive timestamps (`2026-11-25T14:00:00.000000`,
 * no zone) are UTC. Returns milliseconds since the epoch, or undefined.
 */
export function parseUtc(iso: string | null | undefined): number | undefined {
  if (!iso) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(iso.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s = '0', frac = '0', zone] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(frac.slice(0, 3).padEnd(3, '0')));
  if (zone && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  }
  return Number.isNaN(ms) ? undefined : ms;
}

/** `42 s ago`, `5 min ago`, `3 h 20 min ago`, `2 d 4 h ago`; `in 2 min` when the clock is behind. */
export function formatAge(thenMs: number, nowMs: number): string {
  const diff = Math.round((nowMs - thenMs) / 1000);
  const s = Math.abs(diff);
  let text: string;
  if (s < 60) text = `${s} s`;
  else if (s < 3600) text = `${Math.floor(s / 60)} min`;
  else if (s < 86_400) {
    const min = Math.floor((s % 3600) / 60);
    text = `${Math.floor(s / 3600)} h${min ? ` ${min} min` : ''}`;
  } else {
    const h = Math.floor((s % 86_400) / 3600);
    text = `${Math.floor(s / 86_400)} d${h ? ` ${h} h` : ''}`;
  }
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}
