import express, { type Express } from 'express';
import helmet from 'helmet';
import type { AppContext } from '../context';
import { metricsHandler } from '../metrics/metrics-endpoint';
import { requireAdmin, requireWorkspace } from './auth';
import { ingestJson, INGEST_PATHS, smallJson } from './body-parsers';
import { rejectNulCharacters } from './nul-characters';
import { BULL_BOARD_PATH, bullBoardRouter, requireBullBoardLogin } from './bull-board';
import { consoleRouter } from './console';
import { errorHandler, notFoundRoute } from './errors';
import { failedAuthLimiter } from './failed-auth-limiter';
import { requestId } from './request-id';
import { apiReferenceRouter, serveOpenApiDocument } from './openapi/api-reference';
import { requestLog } from './request-log';
import { brazeConnectionRoutes } from './routes/braze-connection';
import { cohortRoutes } from './routes/cohorts';
import { ingestRoutes } from './routes/ingest';
import { scheduleRoutes } from './routes/schedules';
import { workspaceRoutes } from './routes/workspaces';

/** 401s from one address within a minute before it is answered 429 (the API's tokens are long; people mistype). */
export const API_AUTH_FAILURES_PER_MINUTE = 20;
/** Bull Board's password is a person's: fewer guesses. */
export const BULL_BOARD_AUTH_FAILURES_PER_MINUTE = 10;

/** The HTTP API. Routes only translate HTTP to service calls; services do the work. */
export function createApp(ctx: AppContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  app.use(requestId(ctx.log));
  app.use(requestLog());
  // The usual headers (nosniff, HSTS, frame and referrer policies). No CSP here: the console
  // sets its own (console.ts), the API's JSON gets a deny-all one below, the API reference at
  // /docs its own (openapi/api-reference.ts), and Bull Board's UI runs inline scripts a strict
  // policy would block.
  app.use(helmet({ contentSecurityPolicy: false }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const { ready, checks } = await ctx.health.readiness();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  });
  app.get(
    '/metrics',
    metricsHandler(ctx.config.metrics.token, (err) => ctx.log.error({ err }, 'metrics collection failed')),
  );

  const bullBoard = ctx.config.bullBoard;
  if (bullBoard) {
    app.use(
      BULL_BOARD_PATH,
      failedAuthLimiter(
        ctx.redis,
        ctx.config.queuePrefix,
        { scope: 'bull-board', limit: BULL_BOARD_AUTH_FAILURES_PER_MINUTE, windowMs: 60_000 },
        ctx.log,
      ),
      requireBullBoardLogin(bullBoard),
      bullBoardRouter(ctx.queues.all(), bullBoard),
    );
  }

  // Authentication first, then the body: an unauthenticated request is never read or inflated.
  const v1 = express.Router();
  v1.use(
    helmet.contentSecurityPolicy({
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    }),
  );
  v1.use(
    failedAuthLimiter(
      ctx.redis,
      ctx.config.queuePrefix,
      { scope: 'api', limit: API_AUTH_FAILURES_PER_MINUTE, windowMs: 60_000 },
      ctx.log,
    ),
  );
  // The API's description is public: before any token is asked for.
  v1.get('/openapi.json', serveOpenApiDocument);
  v1.use('/workspaces', requireAdmin(ctx.config.adminToken), smallJson, rejectNulCharacters);
  v1.use(workspaceRoutes(ctx));
  v1.use(requireWorkspace(ctx.workspaces));
  v1.use(INGEST_PATHS, ingestJson);
  v1.use(smallJson);
  v1.use(rejectNulCharacters);
  v1.use(brazeConnectionRoutes(ctx));
  v1.use(ingestRoutes(ctx));
  v1.use(cohortRoutes(ctx));
  v1.use(scheduleRoutes(ctx));
  app.use('/v1', v1);
  app.use(apiReferenceRouter());
  app.use(consoleRouter());

  app.use(notFoundRoute);
  app.use(errorHandler());
  return app;
}
