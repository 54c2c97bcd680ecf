import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { keyIdOf } from './crypto/secret-box';
import { allowlistEntry } from './domain/braze-endpoint';
import { QUEUE_DEADLINE_MS } from './services/deadline';
import { DEFAULT_WAREHOUSE_DEADLINES } from './warehouse/deadlines';

/**
 * All configuration, read once from the environment and validated. A missing or malformed
 * variable stops the process with a message naming it.
 */
const csv = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );

/** A whole number from the environment, with words a person understands ("abc" is not "NaN"). */
function wholeNumber(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
  return z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number ${range}`)
    .transform(Number)
    .pipe(z.number().min(min, `must be a whole number ${range}`).max(max, `must be a whole number ${range}`));
}

const envSchema = z.object({
  NODE_ENV: z.string().default('development'),
  PORT: wholeNumber(0, 65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}-]+$/, 'letters, digits, _ - { } only')
    .default('cohort-import'),
  DATABASE_URL: z.string().min(1).default('data/control.db'),
  /** A SQLite file path, or postgres://… / postgresql://… for PostgreSQL. */
  WAREHOUSE_URL: z.string().min(1).default('data/warehouse.db'),
  /** The warehouse: how long a per-member statement (freeze, diff, clean-up) may run. */
  WAREHOUSE_BULK_TIMEOUT_MS: wholeNumber(1).default(DEFAULT_WAREHOUSE_DEADLINES.bulkMs),
  /** The warehouse: how long any other statement (a page, a preview, an upsert) may run; on SQLite it bounds previews (run in threads). */
  WAREHOUSE_QUERY_TIMEOUT_MS: wholeNumber(1).default(DEFAULT_WAREHOUSE_DEADLINES.queryMs),
  /** SQLite warehouse: users (by id) per statement of a freeze or a diff, and per committed chunk of a first import. */
  WAREHOUSE_CHUNK_USERS: wholeNumber(1).default(16_384),
  /** A first import of a workspace with at least this many users is frozen chunk by chunk while its first pages are sent (SQLite); smaller ones in one pass. */
  FREEZE_PAGES_MIN_USERS: wholeNumber(0).default(100_000),
  /** How long an API request waits for Redis (adding a job, updating a scheduler) before answering 503. */
  QUEUE_DEADLINE_MS: wholeNumber(1).default(QUEUE_DEADLINE_MS),
  /** Both databases: how long a write waits for a lock another session holds before the store counts as busy (unset: 10 s, db/client.ts). */
  STORE_LOCK_WAIT_MS: wholeNumber(1).optional(),
  DATA_DIR: z.string().min(1).default('data'),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters'),
  /** Newest first: the first seals, every one opens (rotation). Replaces ENCRYPTION_KEY. */
  ENCRYPTION_KEYS: csv.superRefine((keys, ctx) => {
    const bad = keys.findIndex((k) => decodeKey(k) === null);
    // Which one, never what it is: the message is printed.
    const message = `key ${bad + 1} of ${keys.length} must be 32 bytes, as 64 hex characters or base64`;
    if (bad >= 0) ctx.addIssue({ code: 'custom', message });
  }),
  /** One key, as before ENCRYPTION_KEYS; empty counts as unset. */
  ENCRYPTION_KEY: z
    .string()
    .refine((s) => s === '' || decodeKey(s) !== null, 'must be 32 bytes, as 64 hex characters or base64')
    .optional(),
  BRAZE_PARTNER: z
    .string()
    .regex(/^[a-z0-9-]+$/, 'must be a URL slug (a-z, 0-9, -)')
    .default('kubit'),
  BRAZE_PARTNER_API_KEY_US: z.string().default(''),
  BRAZE_PARTNER_API_KEY_EU: z.string().default(''),
  BRAZE_PARTNER_API_KEY_AU: z.string().default(''),
  BRAZE_ENDPOINT_ALLOWLIST: csv.refine(
    (list) => list.every((entry) => allowlistEntry(entry) !== null),
    'must be a comma-separated list of bare http(s) origins, each optionally tagged with its region, e.g. http://127.0.0.1:4010,EU=http://127.0.0.1:4011',
  ),
  BRAZE_USER_AGENT: z.string().default('partner-Kubit-CohortImport/0.1.0'),
  BRAZE_REQUEST_TIMEOUT_MS: wholeNumber(1).default(30_000),
  /** The key check on PUT /v1/braze-connection answers within this, so a client is not kept waiting 30 s. */
  BRAZE_KEY_CHECK_TIMEOUT_MS: wholeNumber(1).default(10_000),
  /** Requests of one cohort at Braze at once, across all workers (Braze may answer 423 to overlapping ones). */
  BRAZE_MAX_PAGES_IN_FLIGHT_PER_COHORT: wholeNumber(1, 256).default(4),
  /** Requests per hour per Braze connection, shared by all workers (Braze allows 250,000). */
  /** Braze's limit on the cohort endpoints: N requests per sliding window of W seconds, per Braze scope, shared by all workers. */
  BRAZE_RATE_LIMIT_REQUESTS: wholeNumber(1).default(250_000),
  BRAZE_RATE_LIMIT_WINDOW_S: wholeNumber(1, 86_400).default(3_600),
  /** Replaced: a clear error says by what. */
  BRAZE_RATE_LIMIT_PER_HOUR: z
    .undefined({
      error: 'was replaced by BRAZE_RATE_LIMIT_REQUESTS and BRAZE_RATE_LIMIT_WINDOW_S (e.g. 250000 and 3600)',
    })
    .optional(),
  WORKER_CONCURRENCY: wholeNumber(1, 256).default(8),
  UPLOAD_ATTEMPTS: wholeNumber(1, 50).default(10),
  UPLOAD_BACKOFF_MS: wholeNumber(1).default(1_000),
  /** How long a run start's and a page's job lock lasts unrenewed: a killed worker's jobs come back after it. */
  IMPORT_RUN_LOCK_MS: wholeNumber(1_000).default(30_000),
  UPLOAD_PAGE_LOCK_MS: wholeNumber(1_000).default(10_000),
  /** How often a worker looks for run starts and pages whose lock ran out. */
  STALLED_CHECK_MS: wholeNumber(100).default(5_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** json in production (one object a line); pretty for a person at a terminal (npm start sets it). */
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
  SMTP_URL: z.string().default(''),
  MAIL_FROM: z.string().default('Cohort Import <cohort-import@localhost>'),
  MAIL_ATTEMPTS: wholeNumber(1, 50).default(8),
  MAIL_BACKOFF_MS: wholeNumber(1).default(5_000),
  /** Bearer token for GET /metrics; unset: metrics answer only on loopback. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** A worker's metrics server; unset: workers serve no metrics. */
  METRICS_PORT: wholeNumber(0, 65535).optional(),
  METRICS_HOST: z.string().default('127.0.0.1'),
  /** Bull Board's own login (HTTP Basic); both unset: Bull Board is off. */
  BULL_BOARD_USER: z
    .string()
    .regex(/^[^:\s]{1,64}$/, 'must be 1-64 characters, no spaces or colons')
    .optional(),
  BULL_BOARD_PASSWORD: z.string().min(16, 'must be at least 16 characters').optional(),
  /** true: operators see jobs but cannot retry, promote or delete them. Default: true in production. */
  BULL_BOARD_READ_ONLY: z.enum(['true', 'false']).optional(),
});

export type Config = ReturnType<typeof toConfig>;

export function decodeKey(s: string): Buffer | null {
  const hex = /^[0-9a-fA-F]{64}$/.test(s) ? Buffer.from(s, 'hex') : null;
  if (hex) return hex;
  const b64 = Buffer.from(s, 'base64');
  return b64.length === 32 ? b64 : null;
}

function toConfig(env: z.infer<typeof envSchema>) {
  const encryptionKeys = (env.ENCRYPTION_KEYS.length > 0 ? env.ENCRYPTION_KEYS : [env.ENCRYPTION_KEY!]).map((k) =>
    decodeKey(k)!,
  );
  return {
    env: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST,
    redisUrl: env.REDIS_URL,
    queuePrefix: env.QUEUE_PREFIX,
    databaseUrl: env.DATABASE_URL,
    warehouseUrl: env.WAREHOUSE_URL,
    warehouseDeadlines: { bulkMs: env.WAREHOUSE_BULK_TIMEOUT_MS, queryMs: env.WAREHOUSE_QUERY_TIMEOUT_MS },
    warehouseChunkUsers: env.WAREHOUSE_CHUNK_USERS,
    storeLockWaitMs: env.STORE_LOCK_WAIT_MS,
    queueDeadlineMs: env.QUEUE_DEADLINE_MS,
    dataDir: env.DATA_DIR,
    adminToken: env.ADMIN_TOKEN,
    /** Newest first; the first seals data import keys and signs list cursors. */
    encryptionKeys,
    encryptionKey: encryptionKeys[0]!,
    braze: {
      partner: env.BRAZE_PARTNER,
      partnerApiKeys: {
        US: env.BRAZE_PARTNER_API_KEY_US,
        EU: env.BRAZE_PARTNER_API_KEY_EU,
        AU: env.BRAZE_PARTNER_API_KEY_AU,
      },
      endpointAllowlist: env.BRAZE_ENDPOINT_ALLOWLIST,
      userAgent: env.BRAZE_USER_AGENT,
      requestTimeoutMs: env.BRAZE_REQUEST_TIMEOUT_MS,
      keyCheckTimeoutMs: env.BRAZE_KEY_CHECK_TIMEOUT_MS,
      maxPagesInFlightPerCohort: env.BRAZE_MAX_PAGES_IN_FLIGHT_PER_COHORT,
      rateLimit: { requests: env.BRAZE_RATE_LIMIT_REQUESTS, windowMs: env.BRAZE_RATE_LIMIT_WINDOW_S * 1000 },
    },
    worker: {
      concurrency: env.WORKER_CONCURRENCY,
      uploadAttempts: env.UPLOAD_ATTEMPTS,
      uploadBackoffMs: env.UPLOAD_BACKOFF_MS,
      importRunLockMs: env.IMPORT_RUN_LOCK_MS,
      uploadPageLockMs: env.UPLOAD_PAGE_LOCK_MS,
      stalledCheckMs: env.STALLED_CHECK_MS,
      progressiveMinUsers: env.FREEZE_PAGES_MIN_USERS,
    },
    logLevel: env.LOG_LEVEL,
    mail: { smtpUrl: env.SMTP_URL, from: env.MAIL_FROM, attempts: env.MAIL_ATTEMPTS, backoffMs: env.MAIL_BACKOFF_MS },
    metrics: { token: env.METRICS_TOKEN ?? '', port: env.METRICS_PORT ?? null, host: env.METRICS_HOST },
    /** null: Bull Board is off (no credentials of its own). */
    bullBoard:
      env.BULL_BOARD_USER && env.BULL_BOARD_PASSWORD
        ? {
            user: env.BULL_BOARD_USER,
            password: env.BULL_BOARD_PASSWORD,
            readOnly: (env.BULL_BOARD_READ_ONLY ?? String(env.NODE_ENV === 'production')) === 'true',
          }
        : null,
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  /** One line per variable: `NAME: what is wrong`. */
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const byVariable = new Map<string, string>();
    for (const i of parsed.error.issues) {
      const name = String(i.path[0] ?? '?');
      if (!byVariable.has(name)) byVariable.set(name, env[name] === undefined ? 'is required but not set' : i.message);
    }
    throw new ConfigError([...byVariable].map(([name, problem]) => `${name}: ${problem}`));
  }
  const { ENCRYPTION_KEYS: keys } = parsed.data;
  const key = parsed.data.ENCRYPTION_KEY || undefined;
  if (keys.length === 0 && key === undefined) throw new ConfigError(['ENCRYPTION_KEYS: is required but not set']);
  // Both set is ambiguous (is ENCRYPTION_KEY still meant to open?): one list says it all.
  if (keys.length > 0 && key !== undefined) {
    throw new ConfigError([
      'ENCRYPTION_KEY: set ENCRYPTION_KEYS or ENCRYPTION_KEY, not both (list every key in ENCRYPTION_KEYS)',
    ]);
  }
  const ids = keys.map((k) => keyIdOf(decodeKey(k)!));
  if (new Set(ids).size !== ids.length) throw new ConfigError(['ENCRYPTION_KEYS: lists the same key twice']);
  const { BULL_BOARD_USER: user, BULL_BOARD_PASSWORD: password } = parsed.data;
  if ((user === undefined) !== (password === undefined)) {
    const missing = user === undefined ? 'BULL_BOARD_USER' : 'BULL_BOARD_PASSWORD';
    throw new ConfigError([
      `${missing}: is required when ${missing === 'BULL_BOARD_USER' ? 'BULL_BOARD_PASSWORD' : 'BULL_BOARD_USER'} is set`,
    ]);
  }
  return toConfig(parsed.data);
}

/**
 * Reads `DATA_DIR/local.env` (written once by `npm start`: local secrets and the sandbox
 * allowlist) into the environment, never overriding a variable that is already set. Absent
 * in production, where the environment carries everything.
 */
export function loadLocalEnv(env: NodeJS.ProcessEnv = process.env): void {
  const path = join(env.DATA_DIR ?? 'data', 'local.env');
  if (existsSync(path)) process.loadEnvFile(path);
}
