import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { RequestHandler, Router } from 'express';
import type { Queue } from 'bullmq';
import { sameSecret } from './auth';
import { errorBody } from './errors';

export const BULL_BOARD_PATH = '/admin/queues';

export interface BullBoardAccess {
  user: string;
  password: string;
  /** Operators see every job but cannot retry, promote, clean or delete. */
  readOnly: boolean;
}

/** Bull Board for operators: every queue. Job data holds ids and counts only. */
export function bullBoardRouter(queues: Queue[], access: BullBoardAccess): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: access.readOnly, allowRetries: !access.readOnly })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Cohort Import' } },
  });
  return serverAdapter.getRouter() as Router;
}

/**
 * Bull Board's own login (HTTP Basic, BULL_BOARD_USER / BULL_BOARD_PASSWORD): it can delete jobs,
 * so it does not share the admin API token.
 */
export function requireBullBoardLogin(access: BullBoardAccess): RequestHandler {
  return (req, res, next) => {
    const basic = /^Basic\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    if (basic?.[1]) {
      const [user, ...rest] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
      // Both compared, always: which half was wrong does not show in the timing.
      const userOk = sameSecret(user ?? '', access.user);
      const passwordOk = sameSecret(rest.join(':'), access.password);
      if (userOk && passwordOk) return next();
    }
    res
      .status(401)
      .set('WWW-Authenticate', 'Basic realm="Cohort Import queues"')
      .json(errorBody('unauthorized', 'Bull Board needs its own login (BULL_BOARD_USER / BULL_BOARD_PASSWORD).'));
  };
}
