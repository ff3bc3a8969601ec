// The lab's heartbeat helpers (test/integration/heartbeat.ts) against the real nova-api: what they
// write into the cell1 DB is what Nova reads as a live or a silent nova-compute. Hosts hb1..hb4
// only (seeded silent; left silent again at the end, as the lab seeded them).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromNovaTime, heartbeat, keepReporting, novaTime, serviceRow, silence, type Reporting } from './heartbeat.js';
import { createNovaProbe, loadLab, type Lab } from './lab.js';
import { until } from './wait.js';

let lab: Lab;
let probe: ReturnType<typeof createNovaProbe>;
const reporters: Reporting[] = [];

beforeAll(() => {
  lab = loadLab();
  probe = createNovaProbe(lab);
  if (lab.hosts.heartbeat.length !== 4) throw new Error(`the lab at ${lab.dir} has no heartbeat hosts (hb1..hb4): restart it (bash test/lab/start.sh)`);
});

afterAll(async () => {
  await Promise.allSettled(reporters.map((r) => r.stop()));
  for (const h of lab.hosts.heartbeat) {
    await probe.reset(h);
    await silence(lab, h, 600);
  }
});

const hb = (i: number) => lab.hosts.heartbeat[i]!;
/** Nova's updated_at for the host, in ms. */
const updatedAt = (svc: { updated_at: string | null }) => fromNovaTime(svc.updated_at!);

describe('the lab\'s heartbeat hosts and helpers, read back through nova-api', () => {
  it('hb4 starts silent: down, not forced down, last heartbeat at least 10 minutes old', async () => {
    const svc = await probe.service(hb(3));
    expect(svc).toMatchObject({ state: 'down', forced_down: false, status: 'enabled' });
    expect(updatedAt(svc)).toBeLessThanOrEqual(Date.now() - 599_000);
  });

  it('heartbeat(): Nova counts the host up, with updated_at = the heartbeat (now); report_count + 1', async () => {
    const host = hb(0);
    const before = await serviceRow(lab, host);
    expect((await probe.service(host)).state).toBe('down');

    const t0 = Date.now();
    const row = await heartbeat(lab, host);
    const t1 = Date.now();

    expect(row.reportCount).toBe(before.reportCount + 1);
    expect(row.lastSeenUp).toBe(row.updatedAt);
    expect(row.lastSeenUp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/); // Nova's naive UTC format
    const svc = await probe.service(host);
    expect(svc).toMatchObject({ state: 'up', forced_down: false });
    expect(svc.updated_at).toBe(row.updatedAt!.replace(' ', 'T'));
    expect(updatedAt(svc)).toBeGreaterThanOrEqual(t0 - 1); // (ms precision)
    expect(updatedAt(svc)).toBeLessThanOrEqual(t1);
  });

  it('silence(600): down (not forced), and the API shows the old updated_at', async () => {
    const host = hb(0);
    await heartbeat(lab, host);
    expect((await probe.service(host)).state).toBe('up');

    const t0 = Date.now();
    const row = await silence(lab, host, 600);

    const svc = await probe.service(host);
    expect(svc).toMatchObject({ state: 'down', forced_down: false });
    expect(svc.updated_at).toBe(row.updatedAt!.replace(' ', 'T'));
    expect(row.lastSeenUp).toBe(row.updatedAt);
    expect(updatedAt(svc)).toBeGreaterThanOrEqual(t0 - 600_000 - 1);
    expect(updatedAt(svc)).toBeLessThanOrEqual(Date.now() - 600_000);
  });

  it('Nova\'s "up" is last_seen_up against service_down_time (60 s): a heartbeat 30 s old is up, 90 s old is down', async () => {
    const host = hb(1);
    await heartbeat(lab, host, new Date(Date.now() - 30_000));
    expect((await probe.service(host)).state).toBe('up');
    await heartbeat(lab, host, new Date(Date.now() - 90_000));
    expect((await probe.service(host)).state).toBe('down');
  });

  it('keepReporting(): a heartbeat at once, then every interval (updated_at moves in Nova); stop() ends it', async () => {
    const host = hb(1);
    await silence(lab, host, 600);
    const start = (await serviceRow(lab, host)).reportCount;

    const reporting = await keepReporting(lab, host, 500);
    reporters.push(reporting);
    expect(reporting.beats()).toBe(1);
    expect(reporting.last().reportCount).toBe(start + 1);
    const first = await probe.service(host);
    expect(first.state).toBe('up');

    // The event, not a sleep: Nova shows a newer heartbeat than the first one.
    const later = await until('a later heartbeat in Nova', async () => {
      const svc = await probe.service(host);
      return updatedAt(svc) > updatedAt(first) ? svc : undefined;
    });
    expect(later.state).toBe('up');

    await reporting.stop();
    const stopped = await serviceRow(lab, host);
    expect(stopped.reportCount).toBe(start + reporting.beats());
    expect(stopped.updatedAt).toBe(reporting.last().updatedAt);
    // Nothing is written after stop(): three intervals later the row is as stop() left it.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await serviceRow(lab, host)).toEqual(stopped);
  });

  it('updated_at is not purely a heartbeat: a forced_down PUT moves it, last_seen_up stays the last heartbeat', async () => {
    const host = hb(2);
    const silent = await silence(lab, host, 600);

    const t0 = Date.now();
    expect((await probe.setForcedDown(host, true)).status).toBe(200);
    expect((await probe.setForcedDown(host, false)).status).toBe(200);

    const after = await serviceRow(lab, host);
    expect(after.lastSeenUp).toBe(silent.lastSeenUp); // no heartbeat
    expect(after.reportCount).toBe(silent.reportCount);
    expect(fromNovaTime(after.updatedAt!)).toBeGreaterThanOrEqual(t0 - 1_000); // Nova's clock, ours: the same machine
    // Nova still counts the host silent (its "up" is last_seen_up), while updated_at looks fresh.
    const shown = await probe.service(host);
    expect(shown).toMatchObject({ state: 'down', forced_down: false });
    expect(updatedAt(shown)).toBeGreaterThanOrEqual(t0 - 1_000);
  });

  it('a host with no nova-compute row is an error, not a silent no-op', async () => {
    await expect(heartbeat(lab, 'no-such-host')).rejects.toThrow(/0 nova-compute services on no-such-host/);
    await expect(silence(lab, 'no-such-host', 600)).rejects.toThrow(/0 nova-compute services on no-such-host/);
  });

  it('novaTime / fromNovaTime: Nova\'s naive UTC format, both ways', () => {
    const at = new Date(Date.UTC(2026, 10, 27, 11, 11, 44, 851));
    expect(novaTime(at)).toBe('2026-11-27 11:11:44.851000');
    expect(fromNovaTime('2026-11-27 11:11:44.851000')).toBe(at.getTime());
    expect(fromNovaTime('2026-11-27T11:11:44.851543')).toBe(at.getTime());
  });
});
