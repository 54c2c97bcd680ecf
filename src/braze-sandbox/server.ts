/**
 * The Braze sandbox: a local stand-in for Braze's partner cohort-import API (see
 * docs/braze-sandbox.md). `startBrazeSandbox` is what tests, the demo and the benchmark use.
 */
import express, { type ErrorRequestHandler, type Express } from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type BrazeRegion, partnerApiKeyFor } from '../domain/braze-endpoint';
import { createAdminRouter } from './admin-routes';
import { CohortCalls } from './cohort-calls';
import { toSandboxHttpError } from './errors';
import { createPartnerRouter } from './partner-routes';
import { DEFAULT_REQUEST_LOG_CAPACITY, PartnerCallLog } from './request-log';
import { BrazeSandboxStore } from './store';
import { BRAZE_RATE_LIMIT, type RateLimitConfig, rateLimitConfigSchema, TrafficControl } from './traffic-control';

export interface BrazeSandboxAppOptions {
  /** URL slug in /partners/{partner}/...; default "kubit". */
  partner?: string;
  /** Shown in the segment filter "<name> Cohorts"; default the slug, capitalised. */
  partnerDisplayName?: string;
  /** The Braze region this sandbox stands for; default "US". */
  region?: BrazeRegion;
  /**
   * The partner API keys, per region, as Braze issues them. The sandbox accepts only its own
   * region's key (AU: the AU key, else the US key); the others answer 401 as on Braze.
   */
  partnerApiKeys: Partial<Record<BrazeRegion, string>>;
  /** Requests per Braze workspace per window; default Braze's 250,000 per 3,600 s. */
  rateLimit?: RateLimitConfig;
  /** Drives fault injection; default Math.random. */
  random?: () => number;
  /** Partner calls kept in the request log; default 100,000. */
  requestLogCapacity?: number;
  /** Largest JSON body accepted; default "50mb" (a 50,000-user batch). */
  bodyLimit?: string;
}

export interface BrazeSandboxOptions extends BrazeSandboxAppOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** SQLite file, or ":memory:" (the default). */
  dbPath?: string;
}

export interface BrazeSandbox {
  /** e.g. "http://127.0.0.1:40123", no trailing slash. */
  url: string;
  port: number;
  store: BrazeSandboxStore;
  /** Stops accepting connections, lets in-flight calls finish, closes the database. */
  close(): Promise<void>;
}

const PARTNER_SLUG = /^[a-z0-9][a-z0-9_-]*$/i;

/** The Express app over an open store; the caller owns the store and closes it. */
export function createBrazeSandboxApp(store: BrazeSandboxStore, options: BrazeSandboxAppOptions): Express {
  const partner = options.partner ?? 'kubit';
  if (!PARTNER_SLUG.test(partner)) throw new Error(`Braze sandbox: partner slug "${partner}" is not a URL slug`);
  const region = options.region ?? 'US';
  const keys = {
    US: options.partnerApiKeys.US ?? '',
    EU: options.partnerApiKeys.EU ?? '',
    AU: options.partnerApiKeys.AU ?? '',
  };
  const partnerApiKey = partnerApiKeyFor(region, keys)?.key;
  if (!partnerApiKey) throw new Error(`Braze sandbox: no partner API key for its region ${region}`);
  const otherRegionKeys = new Map(
    Object.entries(keys).flatMap(([keyRegion, key]) => (key && key !== partnerApiKey ? [[key, keyRegion]] : [])),
  );
  const rateLimit = rateLimitConfigSchema.parse(options.rateLimit ?? BRAZE_RATE_LIMIT);
  const displayName = options.partnerDisplayName ?? partner.charAt(0).toUpperCase() + partner.slice(1);
  const bodyLimit = options.bodyLimit ?? '50mb';
  const log = new PartnerCallLog(options.requestLogCapacity ?? DEFAULT_REQUEST_LOG_CAPACITY);
  const traffic = new TrafficControl(options.random ?? Math.random, rateLimit);
  const cohortCalls = new CohortCalls();

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(
    `/partners/${partner}`,
    createPartnerRouter({ store, log, traffic, cohortCalls, partnerApiKey, otherRegionKeys, region, bodyLimit }),
  );
  app.use(
    '/sandbox',
    createAdminRouter({ store, log, traffic, cohortCalls, segmentFilterName: `${displayName} Cohorts`, bodyLimit }),
  );
  app.use((req, res) => {
    res.status(404).json({ message: 'Not found', errors: [`no route for ${req.method} ${req.path}`] });
  });
  app.use(answerError);
  return app;
}

const answerError: ErrorRequestHandler = (error, _req, res, _next) => {
  const httpError = toSandboxHttpError(error);
  if (httpError.status >= 500) console.error(error);
  res.status(httpError.status).set(httpError.headers).json(httpError.body);
};

export async function startBrazeSandbox(options: BrazeSandboxOptions): Promise<BrazeSandbox> {
  const host = options.host ?? '127.0.0.1';
  const store = new BrazeSandboxStore(options.dbPath ?? ':memory:');
  let server: Server;
  try {
    const app = createBrazeSandboxApp(store, options);
    server = await listen(app, options.port ?? 0, host);
  } catch (error) {
    store.close();
    throw error;
  }
  // Longer than clients' pooled idle sockets, so the sandbox never closes one under a request.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    store,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }).finally(() => store.close());
      return closing;
    },
  };
}

function listen(app: Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}
