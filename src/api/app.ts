import express, { type Express } from 'express';
import type { AppContext } from '../context';
import { requireAdmin, requireWorkspace } from './auth';
import { ingestJson, INGEST_PATHS, smallJson } from './body-parsers';
import { BULL_BOARD_PATH, bullBoardRouter } from './bull-board';
import { consoleRouter } from './console';
import { errorHandler, notFoundRoute } from './errors';
import { requestLog } from './request-log';
import { brazeConnectionRoutes } from './routes/braze-connection';
import { cohortRoutes } from './routes/cohorts';
import { ingestRoutes } from './routes/ingest';
import { scheduleRoutes } from './routes/schedules';
import { workspaceRoutes } from './routes/workspaces';

/** The HTTP API. Routes only translate HTTP to service calls; services do the work. */
export function createApp(ctx: AppContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  app.use(requestLog(ctx.log));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const { ready, checks } = await ctx.health.readiness();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  });

  app.use(BULL_BOARD_PATH, requireAdmin(ctx.config.adminToken, { browser: true }), bullBoardRouter(ctx.queues.all()));

  // Authentication first, then the body: an unauthenticated request is never read or inflated.
  const v1 = express.Router();
  v1.use('/workspaces', requireAdmin(ctx.config.adminToken), smallJson);
  v1.use(workspaceRoutes(ctx));
  v1.use(requireWorkspace(ctx.workspaces));
  v1.use(INGEST_PATHS, ingestJson);
  v1.use(smallJson);
  v1.use(brazeConnectionRoutes(ctx));
  v1.use(ingestRoutes(ctx));
  v1.use(cohortRoutes(ctx));
  v1.use(scheduleRoutes(ctx));
  app.use('/v1', v1);
  app.use(consoleRouter());

  app.use(notFoundRoute);
  app.use(errorHandler(ctx.log));
  return app;
}
