import type { Job } from 'bullmq';
import type { AppContext } from '../../src/context';
import { composeHoldEmail, composeRunEmail } from '../../src/notifications/run-email';
import { emails } from '../../src/metrics/metrics';
import { notificationPayload } from '../../src/queue/payloads';
import { isActiveRun, type RunRow, runView } from '../../src/runs/run-store';

/**
 * Sends a finished run's email to its recipients, at most once per run: the run row is
 * claimed before sending and marked after; a failed send releases the claim so BullMQ's
 * retry (with backoff) tries again, while a worker that dies after sending leaves the claim
 * in place and the retry sends nothing.
 */
export async function sendNotification(ctx: AppContext, job: Job) {
  const { runId, kind } = notificationPayload.parse(job.data);
  const run = await ctx.runs.get(runId);
  if (!run) {
    ctx.log.warn({ jobId: job.id, runId }, 'job for an unknown run skipped');
    return { skipped: 'run not found' };
  }
  if (kind === 'held') return sendHoldNotice(ctx, run);
  if (isActiveRun(run)) return { skipped: 'the run has not ended' };
  if (run.recipients.length === 0) return { skipped: 'no recipients' };
  if (!(await ctx.runs.claimNotification(runId))) return { skipped: 'already sent' };

  try {
    const email = composeRunEmail(await emailInput(ctx, run));
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

/**
 * Tells the recipients the removal guardrail held the run, at most once (its own claim, so the
 * completion email after an approval or a cancel still goes). Not sent once the run moved on.
 */
async function sendHoldNotice(ctx: AppContext, run: RunRow) {
  if (run.status !== 'held') return { skipped: 'the run is no longer held' };
  if (run.recipients.length === 0) return { skipped: 'no recipients' };
  if (!(await ctx.runs.claimHoldNotice(run.id))) return { skipped: 'already sent' };
  try {
    const email = composeHoldEmail(await emailInput(ctx, run));
    const sent = await ctx.mailer.send({
      to: run.recipients,
      ...email,
      messageId: `<run-${run.id}.held@cohort-import>`,
    });
    return { sent: true, via: sent.via, recipients: run.recipients.length };
  } catch (err) {
    await ctx.runs.releaseHoldNotice(run.id);
    throw err;
  }
}

/** What either email says about the run: its cohort's name and the schedule's zone for times. */
async function emailInput(ctx: AppContext, run: RunRow) {
  const cohort = await ctx.cohorts.byId(run.cohortId);
  return {
    run: runView(run),
    cohortName: cohort?.name ?? run.cohortId,
    timezone: (await ctx.schedules.find(run.cohortId))?.timezone ?? 'UTC',
  };
}
