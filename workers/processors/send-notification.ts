import type { Job } from 'bullmq';
import type { AppContext } from '../../src/context';
import { composeRunEmail } from '../../src/notifications/run-email';
import { emails } from '../../src/metrics/metrics';
import { notificationPayload } from '../../src/queue/payloads';
import { isActiveRun, runView } from '../../src/runs/run-store';

/**
 * Sends a finished run's email to its recipients, at most once per run: the run row is
 * claimed before sending and marked after; a failed send releases the claim so BullMQ's
 * retry (with backoff) tries again, while a worker that dies after sending leaves the claim
 * in place and the retry sends nothing.
 */
export async function sendNotification(ctx: AppContext, job: Job) {
  const { runId } = notificationPayload.parse(job.data);
  const run = await ctx.runs.get(runId);
  if (!run) {
    ctx.log.warn({ jobId: job.id, runId }, 'job for an unknown run skipped');
    return { skipped: 'run not found' };
  }
  if (isActiveRun(run)) return { skipped: 'the run has not ended' };
  if (run.recipients.length === 0) return { skipped: 'no recipients' };
  if (!(await ctx.runs.claimNotification(runId))) return { skipped: 'already sent' };

  try {
    const cohort = await ctx.cohorts.byId(run.cohortId);
    const email = composeRunEmail({
      run: runView(run),
      cohortName: cohort?.name ?? run.cohortId,
      timezone: (await ctx.schedules.find(run.cohortId))?.timezone ?? 'UTC',
    });
    const sent = await ctx.mailer.send({
      to: run.recipients,
      ...email,
      messageId: `<run-${runId}.completion@cohort-import>`,
    });
    emails.inc({ result: 'sent' });
    await ctx.runs.markNotificationSent(runId);
    return { sent: true, via: sent.via, recipients: run.recipients.length };
  } catch (err) {
    emails.inc({ result: 'failed' });
    await ctx.runs.releaseNotification(runId);
    throw err;
  }
}
