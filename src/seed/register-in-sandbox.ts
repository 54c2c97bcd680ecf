import { demoUser, type DemoUser } from './demo-users';

/** The sandbox's limit for one `users/batch` call. */
export const MAX_SANDBOX_USER_BATCH = 50_000;
const DEFAULT_BATCH_SIZE = 10_000;

export interface SandboxUserRecord {
  external_id?: string;
  aliases?: { alias_name: string; alias_label: string }[];
  device_ids?: string[];
}

export interface RegisterInSandboxOptions {
  sandboxUrl: string;
  /** The sandbox's Braze workspace id (from `POST /sandbox/workspaces`). */
  brazeWorkspaceId: string;
  /** The same range that was seeded into the warehouse: indexes `startIndex` … `startIndex + users - 1`. */
  users: number;
  seed: number;
  now: number;
  startIndex?: number;
  /** Records per request, at most {@link MAX_SANDBOX_USER_BATCH}. */
  batchSize?: number;
  /** Called after each acknowledged batch with the users scanned so far (known or not) and the total. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * How the sandbox should know a demo user, or null when Braze has never heard of it.
 * A user with both an external_id and a device_id is sent with both, so the sandbox records
 * that the identified user was first seen anonymous on that device.
 */
export function sandboxUserRecord(user: DemoUser): SandboxUserRecord | null {
  if (!user.known_to_braze) return null;
  const record: SandboxUserRecord = {};
  if (user.external_id !== null) record.external_id = user.external_id;
  if (user.alias_name !== null && user.alias_label !== null) {
    record.aliases = [{ alias_name: user.alias_name, alias_label: user.alias_label }];
  }
  if (user.device_id !== null) record.device_ids = [user.device_id];
  return Object.keys(record).length > 0 ? record : null;
}

/**
 * Tells the Braze sandbox about the demo users it should know (`known_to_braze`), in batches
 * posted one after another. Users are generated as they are sent, so memory holds one batch.
 * Re-running is harmless: the sandbox upserts.
 */
export async function registerInSandbox(options: RegisterInSandboxOptions): Promise<{ registered: number }> {
  const { brazeWorkspaceId, users: total, seed, now, onProgress } = options;
  const startIndex = options.startIndex ?? 0;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isSafeInteger(total) || total < 0)
    throw new RangeError(`users must be a non-negative integer, got ${total}`);
  if (!Number.isSafeInteger(startIndex) || startIndex < 0) {
    throw new RangeError(`startIndex must be a non-negative integer, got ${startIndex}`);
  }
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > MAX_SANDBOX_USER_BATCH) {
    throw new RangeError(`batchSize must be an integer from 1 to ${MAX_SANDBOX_USER_BATCH}, got ${batchSize}`);
  }
  const url = `${options.sandboxUrl.replace(/\/+$/, '')}/sandbox/workspaces/${encodeURIComponent(brazeWorkspaceId)}/users/batch`;

  let registered = 0;
  let reported = 0;
  let batch: SandboxUserRecord[] = [];
  const flush = async (scanned: number): Promise<void> => {
    if (batch.length > 0) {
      await postBatch(url, batch);
      registered += batch.length;
      batch = [];
    }
    if (scanned > reported) {
      reported = scanned;
      onProgress?.(scanned, total);
    }
  };
  for (let offset = 0; offset < total; offset++) {
    const record = sandboxUserRecord(demoUser(seed, startIndex + offset, now));
    if (record !== null) batch.push(record);
    if (batch.length === batchSize) await flush(offset + 1);
  }
  await flush(total);
  return { registered };
}

async function postBatch(url: string, users: SandboxUserRecord[]): Promise<void> {
  // Node's global fetch keeps connections alive, so batches reuse one socket.
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ users }),
    });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    throw new Error(`Cannot reach the Braze sandbox at ${url} (${cause}); is it running?`, { cause: error });
  }
  if (!response.ok) {
    const detail = (await response.text()).slice(0, 500);
    throw new Error(`Braze sandbox answered ${response.status} to POST ${url} with ${users.length} users: ${detail}`);
  }
  // Drain the body so the connection goes back to the pool.
  await response.arrayBuffer();
}
