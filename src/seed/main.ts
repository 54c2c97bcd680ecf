import { parseArgs } from 'node:util';
import { loadConfig, loadLocalEnv } from '../config';
import { ensureDemo } from './demo-setup';

/**
 * `npm run seed -- --users N`: seeds N demo users and their events into the demo workspace
 * (created if missing) and registers them in the Braze sandbox, which must be running.
 */
const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '42' },
    'sandbox-url': { type: 'string', default: process.env.BRAZE_SANDBOX_URL ?? 'http://127.0.0.1:4010' },
  },
});
const users = Number(values.users);
if (!Number.isInteger(users) || users < 1) {
  console.error('--users must be a positive whole number');
  process.exit(2);
}
loadLocalEnv();
const config = loadConfig();
const started = performance.now();
const state = await ensureDemo(config, {
  sandboxUrl: values['sandbox-url']!,
  users,
  seed: Number(values.seed),
  force: true,
});
console.error(`done in ${((performance.now() - started) / 1000).toFixed(1)} s (workspace ${state.workspace_id})`);
