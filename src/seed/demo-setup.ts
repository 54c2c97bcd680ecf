import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openControlDb } from '../../db/client';
import type { Config } from '../config';
import { SecretBox } from '../crypto/secret-box';
import { BrazeConnectionService } from '../services/braze-connections';
import { WorkspaceService } from '../services/workspaces';
import { openWarehouse } from '../warehouse/open-warehouse';
import { createProgressBar } from './progress-bar';
import { registerInSandbox } from './register-in-sandbox';
import { seedWarehouse } from './seed-warehouse';

/** What `npm start` prints and `npm run seed` reuses: the demo workspace and its sandbox twin. */
export interface DemoState {
  workspace_id: string;
  api_token: string;
  braze_workspace_id: string;
  sandbox_url: string;
  seed: number;
  users: number;
}

export const demoStatePath = (config: Config) => join(config.dataDir, 'demo.json');

export function readDemoState(config: Config): DemoState | null {
  const path = demoStatePath(config);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as DemoState) : null;
}

async function sandboxCall<T>(url: string, body: unknown): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`Braze sandbox ${url} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/** False when the sandbox's data was reset since the demo was set up. */
async function sandboxKnows(sandboxUrl: string, brazeWorkspaceId: string): Promise<boolean> {
  const res = await fetch(`${sandboxUrl}/sandbox/workspaces/${brazeWorkspaceId}/data-import-keys`);
  await res.body?.cancel();
  return res.ok;
}

/**
 * Makes sure the demo workspace exists with a Braze connection to the sandbox, and that at
 * least `users` demo users are seeded (in the warehouse and, minus ~3%, in the sandbox).
 * Running it again does nothing new unless more users are asked for.
 */
export async function ensureDemo(
  config: Config,
  opts: { sandboxUrl: string; users: number; seed?: number; force?: boolean },
): Promise<DemoState> {
  const db = await openControlDb(config.databaseUrl);
  const warehouse = await openWarehouse(config.warehouseUrl, { deadlines: config.warehouseDeadlines });
  try {
    let state = readDemoState(config);
    const workspaces = new WorkspaceService(db);
    if (
      !state ||
      !(await workspaces.exists(state.workspace_id)) ||
      state.sandbox_url !== opts.sandboxUrl ||
      !(await sandboxKnows(opts.sandboxUrl, state.braze_workspace_id))
    ) {
      const ws = await workspaces.create('Demo');
      const brazeWs = await sandboxCall<{ id: string }>(`${opts.sandboxUrl}/sandbox/workspaces`, { name: 'Demo' });
      const key = await sandboxCall<{ key: string }>(
        `${opts.sandboxUrl}/sandbox/workspaces/${brazeWs.id}/data-import-keys`,
        {},
      );
      await new BrazeConnectionService(db, new SecretBox(config.encryptionKey), config.braze).put(ws.id, {
        rest_endpoint: opts.sandboxUrl,
        data_import_key: key.key,
      });
      state = {
        workspace_id: ws.id,
        api_token: ws.api_token,
        braze_workspace_id: brazeWs.id,
        sandbox_url: opts.sandboxUrl,
        seed: opts.seed ?? 42,
        users: 0,
      };
      writeFileSync(demoStatePath(config), JSON.stringify(state, null, 2), { mode: 0o600 });
    }
    if (opts.force || state.users < opts.users) {
      const now = Date.now();
      const seed = state.seed;
      // The warehouse is written here while the sandbox stores the users in its own process:
      // side by side, seeding takes about the longer of the two. One bar counts both.
      const bar = createProgressBar({ label: 'warehouse + Braze sandbox', total: opts.users * 2 });
      let warehouseDone = 0;
      let sandboxDone = 0;
      const [seeded, registered] = await Promise.all([
        seedWarehouse(warehouse, {
          workspaceId: state.workspace_id,
          users: opts.users,
          seed,
          now,
          onProgress: (done) => bar.update((warehouseDone = done) + sandboxDone),
        }),
        registerInSandbox({
          sandboxUrl: opts.sandboxUrl,
          brazeWorkspaceId: state.braze_workspace_id,
          users: opts.users,
          seed,
          now,
          onProgress: (done) => bar.update(warehouseDone + (sandboxDone = done)),
        }),
      ]);
      bar.finish();
      state = { ...state, users: opts.users };
      writeFileSync(demoStatePath(config), JSON.stringify(state, null, 2), { mode: 0o600 });
      console.error(
        `seeded ${seeded.users.toLocaleString('en-US')} users and ${seeded.events.toLocaleString('en-US')} events; ` +
          `${registered.registered.toLocaleString('en-US')} of them are known to the Braze sandbox`,
      );
    }
    return state;
  } finally {
    await warehouse.close();
    await db.close();
  }
}
