/**
 * Process entry of the Braze sandbox (`npm run braze-sandbox`). Configuration comes from the
 * environment, validated before anything starts; secrets are never printed.
 */
import { z } from 'zod';
import { loadLocalEnv } from '../config';
import { partnerApiKeyFor } from '../domain/braze-endpoint';
import { startBrazeSandbox } from './server';
import { BRAZE_RATE_LIMIT } from './traffic-control';

const optionalSecret = z
  .string()
  .optional()
  .transform((value) => (value ? value : undefined));

const environmentSchema = z
  .object({
    BRAZE_SANDBOX_PORT: z.coerce.number().int().min(0).max(65_535).default(4010),
    BRAZE_SANDBOX_HOST: z.string().min(1).default('127.0.0.1'),
    BRAZE_SANDBOX_DB: z.string().min(1).default('data/braze-sandbox.db'),
    BRAZE_SANDBOX_REGION: z.enum(['US', 'EU', 'AU'], { error: 'must be US, EU or AU' }).default('US'),
    BRAZE_SANDBOX_RATE_LIMIT_REQUESTS: z.coerce.number().int().positive().default(BRAZE_RATE_LIMIT.limit),
    BRAZE_SANDBOX_RATE_LIMIT_WINDOW_S: z.coerce.number().positive().default(BRAZE_RATE_LIMIT.window_seconds),
    BRAZE_PARTNER: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]*$/i, { error: 'must be a URL slug such as kubit' })
      .default('kubit'),
    BRAZE_PARTNER_API_KEY_US: optionalSecret,
    BRAZE_PARTNER_API_KEY_EU: optionalSecret,
    BRAZE_PARTNER_API_KEY_AU: optionalSecret,
  })
  .refine(
    (env) =>
      partnerApiKeyFor(env.BRAZE_SANDBOX_REGION, {
        US: env.BRAZE_PARTNER_API_KEY_US ?? '',
        EU: env.BRAZE_PARTNER_API_KEY_EU ?? '',
        AU: env.BRAZE_PARTNER_API_KEY_AU ?? '',
      }) !== null,
    {
      error:
        'set the partner API key of BRAZE_SANDBOX_REGION (default US): BRAZE_PARTNER_API_KEY_US, BRAZE_PARTNER_API_KEY_EU, or for AU BRAZE_PARTNER_API_KEY_AU or BRAZE_PARTNER_API_KEY_US',
    },
  );

function readEnvironment() {
  loadLocalEnv();
  const result = environmentSchema.safeParse(process.env);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    console.error(`braze-sandbox: ${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
  }
  process.exit(1);
}

const env = readEnvironment();
const sandbox = await startBrazeSandbox({
  port: env.BRAZE_SANDBOX_PORT,
  host: env.BRAZE_SANDBOX_HOST,
  dbPath: env.BRAZE_SANDBOX_DB,
  partner: env.BRAZE_PARTNER,
  region: env.BRAZE_SANDBOX_REGION,
  partnerApiKeys: {
    US: env.BRAZE_PARTNER_API_KEY_US,
    EU: env.BRAZE_PARTNER_API_KEY_EU,
    AU: env.BRAZE_PARTNER_API_KEY_AU,
  },
  rateLimit: { limit: env.BRAZE_SANDBOX_RATE_LIMIT_REQUESTS, window_seconds: env.BRAZE_SANDBOX_RATE_LIMIT_WINDOW_S },
}).catch((error: unknown) => {
  const problem =
    (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
      ? `port ${env.BRAZE_SANDBOX_PORT} is in use — set BRAZE_SANDBOX_PORT to another port`
      : `cannot start: ${error instanceof Error ? error.message : String(error)}`;
  console.error(`braze-sandbox: ${problem}`);
  process.exit(1);
});
console.log(
  `braze-sandbox listening on ${sandbox.url} (region ${env.BRAZE_SANDBOX_REGION}, partner ${env.BRAZE_PARTNER}, database ${env.BRAZE_SANDBOX_DB})`,
);

let stopping = false;
async function shutDown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`braze-sandbox: ${signal} received, closing`);
  try {
    await sandbox.close();
    process.exit(0);
  } catch (error) {
    console.error('braze-sandbox: shutdown failed', error);
    process.exit(1);
  }
}
process.on('SIGTERM', (signal) => void shutDown(signal));
process.on('SIGINT', (signal) => void shutDown(signal));
