import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app';
import { loadConfig } from '../src/config';
import { type AppContext, createContext } from '../src/context';
import { keyIdOf, SecretBox } from '../src/crypto/secret-box';
import { createLogger } from '../src/logger';
import { startWorkers } from '../workers/start-workers';
import { testEngines } from './support/engines';
import { createConnectedWorkspace, type Harness, seedDemo, startHarness, waitForRun } from './support/harness';

/**
 * Rotating ENCRYPTION_KEYS end to end: imports run under the old key; the new key is put first
 * and `npm run reseal` (the real script, as a child process) seals the stored key again; then
 * web and workers with only the new key still import into the sandbox.
 */
const oldKey = randomBytes(32);
const newKey = randomBytes(32);
const criteria = { all: [{ property: 'country', op: 'in', value: ['BR', 'PT', 'US'] }] };

let h: Harness;
let ws: Awaited<ReturnType<typeof createConnectedWorkspace>>;
/** The system restarted with other keys: its context, and its API when it serves one. */
let rotated: { ctx: AppContext; server?: Server; baseUrl?: string } | undefined;

async function restartWith(keys: Buffer[], serveApi: boolean) {
  await h.workers?.close();
  h.workers = undefined;
  await stopRotated();
  const config = loadConfig({
    ...h.env,
    ENCRYPTION_KEY: '',
    ENCRYPTION_KEYS: keys.map((k) => k.toString('hex')).join(','),
  });
  const ctx = await createContext(config, 'test', createLogger('test', 'silent'));
  await ctx.deployment.claim();
  h.workers = await startWorkers(ctx);
  rotated = { ctx };
  if (serveApi) {
    rotated.server = createApp(ctx).listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => rotated!.server!.once('listening', () => resolve()));
    rotated.baseUrl = `http://127.0.0.1:${(rotated.server.address() as AddressInfo).port}`;
  }
}

async function stopRotated() {
  if (!rotated) return;
  await h.workers?.close();
  h.workers = undefined;
  if (rotated.server) {
    await new Promise<void>((resolve) => rotated!.server!.close(() => resolve()));
    rotated.server.closeAllConnections();
  }
  await rotated.ctx.close();
  rotated = undefined;
}

async function storedSeal(): Promise<string> {
  const { brazeConnections } = h.ctx.db.tables;
  const [row] = await h.ctx.db
    .select({ sealed: brazeConnections.dataImportKeySealed })
    .from(brazeConnections)
    .where(eq(brazeConnections.workspaceId, ws.workspaceId));
  return row!.sealed;
}

function reseal(keys: Buffer[]): Promise<{ code: number | null; output: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'scripts/reseal.ts'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...h.env,
      ENCRYPTION_KEY: '',
      ENCRYPTION_KEYS: keys.map((k) => k.toString('base64')).join(','),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout.on('data', (c: Buffer) => (output += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => proc.on('close', (code) => resolve({ code, output })));
}

function expectNoKeyIn(text: string) {
  for (const k of [oldKey, newKey]) {
    expect(text).not.toContain(k.toString('hex'));
    expect(text).not.toContain(k.toString('base64'));
  }
  expect(text).not.toContain(ws.dataImportKey);
}

async function importThrough(baseUrl: string, name: string) {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${ws.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const cohort = await call('POST', '/v1/cohorts', { name, criteria });
  expect(cohort.status).toBe(201);
  const run = await call('POST', `/v1/cohorts/${cohort.body.id}/imports`, {});
  expect(run.status).toBe(202);
  return waitForRun(h, ws.token, run.body.id);
}

beforeAll(async () => {
  h = await startHarness({ env: { ENCRYPTION_KEY: '', ENCRYPTION_KEYS: oldKey.toString('hex') } });
  ws = await createConnectedWorkspace(h, 'Rotation');
  await seedDemo(h, ws, { users: 300, seed: 11 });
});
afterAll(async () => {
  await stopRotated();
  await h?.close();
});

describe(`rotating ENCRYPTION_KEYS (control database on ${testEngines().control})`, () => {
  it('imports under the old key, reseals with the new one, and imports with the old key removed', async () => {
    const before = await importThrough(h.baseUrl, 'Before');
    expect(before).toMatchObject({ status: 'succeeded' });
    expect(before.added).toBeGreaterThan(0);
    const sealedByOld = await storedSeal();
    expect(sealedByOld.startsWith(`v2.${keyIdOf(oldKey)}.`)).toBe(true);
    // Without the old key the stored value does not open: what the reseal is for.
    expect(() => new SecretBox(newKey).open(sealedByOld, ws.workspaceId)).toThrow(keyIdOf(oldKey));

    // Rotate: the new key first, the old one still there, while workers run.
    await restartWith([newKey, oldKey], false);
    const first = await reseal([newKey, oldKey]);
    expect(first.code).toBe(0);
    expect(first.output).toContain(`1 data import key(s) sealed again with key ${keyIdOf(newKey)}`);
    expectNoKeyIn(first.output);
    const sealedByNew = await storedSeal();
    expect(sealedByNew.startsWith(`v2.${keyIdOf(newKey)}.`)).toBe(true);
    const again = await reseal([newKey, oldKey]);
    expect(again.code).toBe(0);
    expect(again.output).toContain('0 data import key(s) sealed again');
    expect(await storedSeal()).toBe(sealedByNew);

    // Remove the old key: web (the key check) and workers (the import) still open the stored key.
    await restartWith([newKey], true);
    const verified = await fetch(`${rotated!.baseUrl}/v1/braze-connection/verify`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ws.token}` },
    });
    expect(verified.status).toBe(200);
    const after = await importThrough(rotated!.baseUrl!, 'After');
    expect(after).toMatchObject({ status: 'succeeded', added: before.added });
  });

  it('reports a key it cannot open by workspace and key id, and leaves it as it was', async () => {
    const stranger = randomBytes(32);
    const result = await reseal([stranger]);
    expect(result.code).toBe(1);
    expect(result.output).toContain(`workspace ${ws.workspaceId} left as it was`);
    expect(result.output).toContain(keyIdOf(newKey));
    expectNoKeyIn(result.output);
    expect(result.output).not.toContain(stranger.toString('hex'));
    expect((await storedSeal()).startsWith(`v2.${keyIdOf(newKey)}.`)).toBe(true);
  });
});
