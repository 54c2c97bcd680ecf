import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { loadConfig, loadLocalEnv } from '../src/config';
import { ensureDemo } from '../src/seed/demo-setup';

/**
 * The whole system on one machine: braze-sandbox, demo data, web and two workers, with their
 * output prefixed. Ctrl-C stops web first, then the workers (they finish active jobs), then
 * the sandbox.
 */
loadLocalEnv();
// One setting per port: the sandbox's URL, and its place on the endpoint allow-list, follow
// BRAZE_SANDBOX_PORT, so a second checkout on other ports never talks to this one's sandbox.
const sandboxPort = Number(process.env.BRAZE_SANDBOX_PORT ?? 4010);
const sandboxHost = process.env.BRAZE_SANDBOX_HOST ?? '127.0.0.1';
const sandboxUrl = `http://${sandboxHost.includes(':') ? `[${sandboxHost}]` : sandboxHost}:${sandboxPort}`;
process.env.BRAZE_SANDBOX_PORT = String(sandboxPort);
process.env.BRAZE_ENDPOINT_ALLOWLIST = [
  ...new Set([...(process.env.BRAZE_ENDPOINT_ALLOWLIST ?? '').split(',').filter(Boolean), sandboxUrl]),
].join(',');
// Pretty log lines for a person at a terminal (production keeps JSON).
process.env.LOG_FORMAT ??= 'pretty';
const config = (() => {
  try {
    return loadConfig();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
})();
const demoUsers = Number(process.env.DEMO_USERS ?? 10_000);
const web = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
const tsx = 'node_modules/.bin/tsx';
const children: { name: string; proc: ChildProcess }[] = [];
const colors = ['36', '33', '35', '32', '34'];

/** Resolves when `name` has printed a line matching `ready`; rejects if it exits first. */
const readyLines = new Map<string, { pattern: RegExp; resolve: () => void }>();

function start(name: string, script: string, ready?: RegExp): Promise<void> {
  // A process group of its own: Ctrl-C reaches only this supervisor, which then stops the
  // children in order (web, workers, sandbox) instead of all at once.
  const proc = spawn(tsx, [script], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env, detached: true });
  const color = colors[children.length % colors.length];
  const prefix = `\x1b[${color}m${name.padEnd(14)}|\x1b[0m `;
  for (const stream of [proc.stdout, proc.stderr]) {
    let buffered = '';
    stream?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        process.stdout.write(prefix + line + '\n');
        const waiting = readyLines.get(name);
        if (waiting?.pattern.test(line)) {
          readyLines.delete(name);
          waiting.resolve();
        }
      }
    });
  }
  proc.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${name} exited (${signal ?? code}); stopping everything`);
      void stopAll(1);
    }
  });
  children.push({ name, proc });
  if (!ready) return Promise.resolve();
  const isReady = new Promise<void>((resolve, reject) => {
    readyLines.set(name, { pattern: ready, resolve });
    proc.once('exit', () => reject(new Error(`${name} stopped before it was ready (see its lines above)`)));
  });
  isReady.catch(() => undefined); // awaited by the caller; never an unhandled rejection meanwhile
  return isReady;
}

/** Fails with the variable to set when a port is taken, before anything starts. */
async function ensurePortFree(port: number, host: string, variable: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          err.code === 'EADDRINUSE'
            ? `port ${port} is in use (another Cohort Import running?) — set ${variable} to another port`
            : `cannot use ${host}:${port}: ${err.message}`,
        ),
      ),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

async function waitFor(url: string, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not come up at ${url}`);
}

let stopping = false;
async function stopAll(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const group of [['web'], ['worker-1', 'worker-2'], ['braze-sandbox']]) {
    await Promise.all(
      children
        .filter((c) => group.includes(c.name) && c.proc.exitCode === null && c.proc.signalCode === null)
        .map(
          (c) =>
            new Promise<void>((resolve) => {
              c.proc.once('exit', () => resolve());
              signalGroup(c.proc, 'SIGTERM');
              setTimeout(() => signalGroup(c.proc, 'SIGKILL'), 15_000).unref();
            }),
        ),
    );
  }
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));
process.on('SIGHUP', () => void stopAll(0));
// Never leave a child behind, whatever ends this process.
process.on('exit', () => {
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) signalGroup(c.proc, 'SIGKILL');
});

/** tsx runs the script in a child node process: signal the whole group, both of them. */
function signalGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (proc.pid) process.kill(-proc.pid, signal);
  } catch {
    // already gone
  }
}

try {
  await ensurePortFree(sandboxPort, sandboxHost, 'BRAZE_SANDBOX_PORT');
  await ensurePortFree(config.port, config.host, 'PORT');
  // Each step waits for its own process's ready line, then for its URL: an answer from some
  // other instance on the same port can never pass for this one.
  await start('braze-sandbox', 'src/braze-sandbox/main.ts', /listening on /);
  await waitFor(`${sandboxUrl}/sandbox/requests`, 'the Braze sandbox');
  const demo = await ensureDemo(config, { sandboxUrl, users: demoUsers });
  const workersReady = [
    start('worker-1', 'workers/main.ts', /worker ready/),
    start('worker-2', 'workers/main.ts', /worker ready/),
  ];
  await start('web', 'src/web.ts', /web listening/);
  await waitFor(`${web}/healthz`, 'web');
  await Promise.all(workersReady);
  const t = demo.api_token;
  console.log(`
\x1b[1mCohort Import is running.\x1b[0m  Ctrl-C stops everything.

  Cohort Control ${web}/            (the console: sign in with the demo token below)
  API            ${web}/v1          (demo workspace token below)
  Bull Board     ${web}/admin/queues   user ${config.bullBoard?.user ?? '(off)'}, password: BULL_BOARD_PASSWORD in ${config.dataDir}/local.env
  Metrics        ${web}/metrics        (Prometheus text; loopback only unless METRICS_TOKEN is set)
  Braze sandbox  ${sandboxUrl}      (Braze workspace ${demo.braze_workspace_id})
  Demo data      ${demo.users.toLocaleString('en-US')} users with events

  export TOKEN=${t}

Try next (the README's walkthrough has more):
  curl -s -X POST ${web}/v1/cohorts -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
    -d '{"name":"Brazil pro buyers","criteria":{"all":[{"property":"country","op":"eq","value":"BR"},{"property":"plan","op":"eq","value":"pro"},{"event":"purchase","op":"gte","count":1,"within_days":30}]}}'
  curl -s -X POST ${web}/v1/cohorts/<cohort id>/imports -H "Authorization: Bearer $TOKEN"
  curl -s ${web}/v1/cohorts/<cohort id>/imports -H "Authorization: Bearer $TOKEN"
  curl -s "${sandboxUrl}/sandbox/workspaces/${demo.braze_workspace_id}/segment?cohort_name=Brazil%20pro%20buyers&limit=5"
`);
} catch (err) {
  console.error((err as Error).message);
  await stopAll(1);
}
