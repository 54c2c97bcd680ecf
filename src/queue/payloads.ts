import { z } from 'zod';

/**
 * The id of the HTTP request that started the work (X-Request-Id), so one grep follows an
 * import from the API call to its last page. Absent for work nobody asked for (schedules).
 */
const requestId = z.string().min(1).max(128).optional();

/**
 * One typed payload per job, validated when added and when processed. Payloads carry ids and
 * cursors only: never a secret, never a member list (Bull Board shows job data).
 */
export const importRunPayload = z.object({ runId: z.string().uuid(), requestId }).strict();
export type ImportRunPayload = z.infer<typeof importRunPayload>;

/** A span of a run's pages, firstPage..lastPage, sent in order by one job. */
export const uploadPagePayload = z
  .object({
    runId: z.string().uuid(),
    firstPage: z.number().int().min(1),
    lastPage: z.number().int().min(1),
    /** Inclusive range of cohort_run_changes.seq the span covers (PAGE_SIZE per page, the last may be short). */
    fromSeq: z.number().int().min(1),
    toSeq: z.number().int().min(1),
    requestId,
  })
  .strict()
  .refine((p) => p.lastPage >= p.firstPage && p.toSeq >= p.fromSeq, 'an empty span');
export type UploadPagePayload = z.infer<typeof uploadPagePayload>;

/**
 * The rest of a first import frozen chunk by chunk (a child of the run's finalize job, so the
 * run ends only after it): the criteria and time the run froze by, so a cohort edited meanwhile
 * does not change what the later chunks freeze, and how many pages each span job gets.
 */
export const freezePagesPayload = z
  .object({
    runId: z.string().uuid(),
    criteria: z.record(z.string(), z.unknown()),
    now: z.number().int(),
    pagesPerSpan: z.number().int().min(1),
    requestId,
  })
  .strict();
export type FreezePagesPayload = z.infer<typeof freezePagesPayload>;

/** A freeze-pages job's progress: spans already fanned out (a retry adds only the ones after). */
export const freezePagesProgress = z.object({ spansAdded: z.number().int().min(0) });

export const finalizeRunPayload = z.object({ runId: z.string().uuid(), requestId }).strict();
export type FinalizeRunPayload = z.infer<typeof finalizeRunPayload>;

/** What an upload-page job returns (shown in Bull Board, summed by finalize-run). */
export const uploadPageResult = z.object({
  added: z.number().int(),
  removed: z.number().int(),
  skipped: z.boolean(),
});
export type UploadPageResult = z.infer<typeof uploadPageResult>;

/**
 * A page job's progress after each page Braze acknowledged: a retry of the job (its worker was
 * killed, or it was delayed mid-span) resumes after these pages instead of sending them again.
 */
export const uploadSpanProgress = z.object({
  pagesDone: z.number().int().min(0),
  added: z.number().int().min(0),
  removed: z.number().int().min(0),
});
export type UploadSpanProgress = z.infer<typeof uploadSpanProgress>;

/** What a schedule's job carries when it fires: which cohort (the schedule is read fresh). */
export const scheduledImportPayload = z
  .object({ cohortId: z.string().uuid(), workspaceId: z.string().uuid() })
  .strict();
export type ScheduledImportPayload = z.infer<typeof scheduledImportPayload>;

/** `held`: the guardrail held the run and the recipients are asked to approve or cancel it. */
export const notificationPayload = z
  .object({ runId: z.string().uuid(), kind: z.enum(['completion', 'held']).default('completion') })
  .strict();
export type NotificationPayload = z.infer<typeof notificationPayload>;

export const forgetCohortPayload = z.object({ cohortId: z.string().uuid() }).strict();
export type ForgetCohortPayload = z.infer<typeof forgetCohortPayload>;

export const settleRunPayload = z.object({ runId: z.string().uuid() }).strict();
export type SettleRunPayload = z.infer<typeof settleRunPayload>;

/** A plan: its own working-set id (never a run's), and the cohort to freeze and diff. */
export const planCohortPayload = z
  .object({ planId: z.string().uuid(), cohortId: z.string().uuid(), workspaceId: z.string().uuid() })
  .strict();
export type PlanCohortPayload = z.infer<typeof planCohortPayload>;

/** What a plan job returns: counts only (Bull Board shows it). */
export const planCohortResult = z.object({
  cohortSize: z.number().int(),
  unmatchable: z.number().int(),
  additions: z.number().int(),
  removals: z.number().int(),
  syncedBefore: z.number().int(),
});
export type PlanCohortResult = z.infer<typeof planCohortResult>;
