import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { type ControlDb, openControlDb } from '../db/client';
import type { Config } from './config';
import { SecretBox } from './crypto/secret-box';
import { DeploymentClaim } from './deployment';
import { createLogger, type Logger } from './logger';
import { createMailer, type Mailer } from './notifications/mailer';
import { watchQueues } from './metrics/metrics';
import { createQueues, type Queues } from './queue/queues';
import { CohortSlots } from './queue/cohort-slots';
import { RateBudget } from './queue/rate-budget';
import { createRedis, RedisOutageLog } from './redis';
import { ImportRuns } from './runs/import-runs';
import { RunPlans } from './runs/run-plans';
import { ExecutorBeacon } from './runs/executor-beacon';
import { RunExecution } from './runs/run-execution';
import { RunJanitor } from './runs/run-janitor';
import { RunOutcomes } from './runs/run-outcomes';
import { RunRepository } from './runs/run-store';
import { BrazeConnectionService } from './services/braze-connections';
import { CohortService } from './services/cohorts';
import { HealthService } from './services/health';
import { Cursors } from './services/paging';
import { ScheduleReconciler } from './services/schedule-reconciler';
import { ScheduleService } from './services/schedules';
import { WorkspaceService } from './services/workspaces';
import { openWarehouse } from './warehouse/open-warehouse';
import type { Warehouse } from './warehouse/warehouse';

/** Everything a process needs, built once from the configuration and closed in order. */
export interface AppContext {
  config: Config;
  log: Logger;
  db: ControlDb;
  warehouse: Warehouse;
  redis: Redis;
  /** Every Redis connection of this process reports outages here: one log line per outage. */
  redisOutages: RedisOutageLog;
  queues: Queues;
  deployment: DeploymentClaim;
  rateBudget: RateBudget;
  cohortSlots: CohortSlots;
  workspaces: WorkspaceService;
  connections: BrazeConnectionService;
  cohorts: CohortService;
  runs: RunRepository;
  /** An import run's life: src/runs/ (start and cancel here; the workers' side in `execution`). */
  imports: ImportRuns;
  plans: RunPlans;
  execution: RunExecution;
  /** This process as the executor of run starts, and whether another executor still lives. */
  executor: ExecutorBeacon;
  outcomes: RunOutcomes;
  schedules: ScheduleService;
  reconciler: ScheduleReconciler;
  mailer: Mailer;
  health: HealthService;
  janitor: RunJanitor;
  close(): Promise<void>;
}

export async function createContext(config: Config, processName: string, log?: Logger): Promise<AppContext> {
  const logger = log ?? createLogger(processName, config.logLevel);
  const db = await openControlDb(config.databaseUrl, { lockWaitMs: config.storeLockWaitMs });
  const warehouse = await openWarehouse(config.warehouseUrl, {
    deadlines: config.warehouseDeadlines,
    lockWaitMs: config.storeLockWaitMs,
    chunkIds: config.warehouseChunkUsers,
  });
  const redisOutages = new RedisOutageLog(logger, config.redisUrl);
  const redis = redisOutages.watch(createRedis(config.redisUrl, 'client'));
  const queues = createQueues(redis, config.queuePrefix, redisOutages.onError);
  watchQueues(queues);
  const runs = new RunRepository(db);
  const reconciler = new ScheduleReconciler(db, queues.scheduledImport, logger);
  const cursors = new Cursors(config.encryptionKey);
  const cohorts = new CohortService(db, warehouse, runs, reconciler, queues, cursors, logger, config.queueDeadlineMs);
  const outcomes = new RunOutcomes(runs, warehouse, queues, redis, config.queuePrefix, config.mail, logger);
  const uploadRetries = { attempts: config.worker.uploadAttempts, backoffMs: config.worker.uploadBackoffMs };
  const janitor = new RunJanitor(queues, runs, outcomes, logger);
  const box = new SecretBox(config.encryptionKeys);
  const connections = new BrazeConnectionService(db, box, config.braze);
  const imports = new ImportRuns(
    cohorts,
    connections,
    runs,
    queues,
    janitor,
    outcomes,
    cursors,
    uploadRetries,
    logger,
    config.queueDeadlineMs,
  );
  const plans = new RunPlans(
    cohorts,
    connections,
    warehouse,
    queues,
    config.warehouseDeadlines.queryMs,
    logger,
    config.queueDeadlineMs,
  );
  // Beats only once startWorkers starts it: web never executes a run's start.
  const executor = new ExecutorBeacon(redis, config.redisUrl, config.queuePrefix);
  const execution = new RunExecution(
    runs,
    outcomes,
    cohorts,
    connections,
    warehouse,
    queues,
    executor,
    uploadRetries,
    logger,
    { progressiveMinUsers: config.worker.progressiveMinUsers },
  );
  const cohortSlots = new CohortSlots(redis, config.queuePrefix, {
    limit: config.braze.maxPagesInFlightPerCohort,
    leaseMs: config.braze.requestTimeoutMs + 5_000,
  });
  const mailer = createMailer({
    smtpUrl: config.mail.smtpUrl,
    from: config.mail.from,
    outboxDir: join(config.dataDir, 'outbox'),
    log: logger,
  });
  return {
    config,
    log: logger,
    db,
    warehouse,
    redis,
    redisOutages,
    queues,
    deployment: new DeploymentClaim(db, redis, config.queuePrefix, config.redisUrl),
    rateBudget: new RateBudget(redis, config.queuePrefix, config.braze.rateLimit),
    cohortSlots,
    workspaces: new WorkspaceService(db),
    connections,
    cohorts,
    runs,
    imports,
    plans,
    schedules: new ScheduleService(db, cohorts, imports, runs, reconciler, cursors, logger, config.queueDeadlineMs),
    reconciler,
    mailer,
    health: new HealthService(redis, db, warehouse),
    janitor,
    outcomes,
    execution,
    executor,
    async close() {
      await executor.stop();
      await mailer.close();
      await queues.close();
      await cohortSlots.close();
      await redis.quit().catch(() => redis.disconnect());
      await warehouse.close();
      await db.close();
    },
  };
}
