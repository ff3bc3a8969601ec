import type { AppDeps, Job } from './ports.js';
import { recoverStaleExecuting, recoverStuckApproved } from './recovery.js';
import { autoConfirmOnBmc, offerRecovery } from './alerts.js';
import { checkEvacuateModal, recoverStalledEvacuations, runEvacuationJob } from './evacuation-flow.js';
import { forcedDownSince, remindForcedDown } from './reminders.js';
import { executeRequest, expireRequests, readBmc, readHost, refreshCard, refreshGroup, showCard, withBmc } from './requests.js';

/** Runs one job handed over by the api function. Safe to run twice (Lambda async retries). */
export async function runJob(deps: AppDeps, job: Job): Promise<void> {
  switch (job.kind) {
    case 'show-card':
      return showCard(deps, job.id);
    case 'execute':
      await executeRequest(deps, job.id);
      return;
    case 'refresh-card':
      return refreshCard(deps, job.id);
    case 'refresh-group':
      return refreshGroup(deps, job.id, job.ids);
    case 'show-group':
      // A flood's summary line: wait out its short window, then show every host left out in it at once.
      if (job.settleUntil !== undefined) await deps.sleep(Math.min(10_000, Math.max(0, job.settleUntil - deps.now())));
      if (!(await deps.cards.group(job.id, { post: true, ...(job.joined ? { joined: job.joined } : {}) }, job)) && job.orphan) {
        await showCard(deps, job.orphan);
      }
      return;
    case 'alert-recovery':
      return offerRecovery(deps, job);
    case 'status': {
      const nova = deps.nova(job.cloud);
      if (!nova) return;
      // Nova and the host's BMC (when it has one) side by side.
      const [service, bmc] = await Promise.all([nova.getService(job.host), readBmc(deps, job)]);
      return deps.notifier.replyStatus(job.responseUrl, job.cloud, job.host, service, ...(bmc ? [bmc] : []));
    }
    case 'auto-bmc':
      return autoConfirmOnBmc(deps, job.id);
    case 'evacuate':
      return runEvacuationJob(deps, job.id, job.by);
    case 'check-evacuate-modal':
      return checkEvacuateModal(deps, job.id, job.viewId, { round: job.round });
    case 'sweep': {
      const expired = await expireRequests(deps);
      if (expired > 0) deps.log.info('expired requests', { count: expired });
      // Requests whose worker died between `executing` and Nova's answer, and confirmed
      // requests whose execute job never started (src/app/recovery.ts).
      await recoverStaleExecuting(deps);
      const stuck = await recoverStuckApproved(deps);
      if (stuck.requeued + stuck.failed > 0) deps.log.info('settled confirmed requests that never started', stuck);
      const evacuations = await recoverStalledEvacuations(deps);
      if (evacuations > 0) deps.log.info('handed stalled evacuations to the worker again', { count: evacuations });
      // Hosts left forced down: a reminder in their card's thread, once per FORCE_DOWN_REMIND_HOURS (src/app/reminders.ts).
      const reminded = await remindForcedDown(deps);
      if (reminded > 0) deps.log.info('reminded of hosts left forced down', { count: reminded });
      return;
    }
    case 'check-modal': {
      const request = await deps.store.get(job.id);
      if (!request) return;
      // Nova's heartbeat and the BMC's power state (a host with a BMC), side by side.
      const [nova, bmc] = await Promise.all([readHost(deps, request), request.action === 'force-down' ? readBmc(deps, request) : undefined]);
      const view = withBmc(nova, bmc);
      if (view) await deps.notifier.updateModal(job.viewId, request, view, job.form);
      return;
    }
    case 'list': {
      const nova = deps.nova(job.cloud);
      if (!nova) return;
      // Nova's list, and when our records say each host was forced down (how long it has been).
      const [services, since] = await Promise.all([nova.listComputeServices(), forcedDownSince(deps, job.cloud)]);
      return deps.notifier.replyList(job.responseUrl, job.cloud, services, { page: job.page ?? 1, forcedDownSince: since });
    }
  }
}
