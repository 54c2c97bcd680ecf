import { demoUserIdentity, type DemoUserIdentity } from './demo-users';

/** The sandbox's limit for one `users/batch` call. */
export const MAX_SANDBOX_USER_BATCH = 50_000;
const DEFAULT_BATCH_SIZE = 25_000;

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
export function sandboxUserRecord(user: DemoUserIdentity): SandboxUserRecord | null {
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
 * posted one after another (so the sandbox stores them in index order). The next batch is
 * generated while the sandbox stores the previous one, so memory holds two batches.
 * Re-running is harmless: the sandbox upserts.
 */
export async function registerInSandbox(options: RegisterInSandboxOptions): Promise<{ registered: number }> {
  const { brazeWorkspaceId, users: total, seed, onProgress } = options;
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
  const send = async (body: string | null, count: number, scanned: number): Promise<void> => {
    if (body !== null) {
      await postBatch(url, body, count);
      registered += count;
    }
    onProgress?.(scanned, total);
  };
  let inFlight: Promise<void> = Promise.resolve();
  let offset = 0;
  while (offset < total) {
    const batch: SandboxUserRecord[] = [];
    while (offset < total && batch.length < batchSize) {
      // Only the identifiers matter here: properties and events are not drawn.
      const record = sandboxUserRecord(demoUserIdentity(seed, startIndex + offset));
      offset += 1;
      if (record !== null) batch.push(record);
    }
    const body = batch.length > 0 ? JSON.stringify({ users: batch }) : null;
    await inFlight;
    inFlight = send(body, batch.length, offset);
    // Awaited at the next turn; this only keeps a failure meanwhile from counting as unhandled.
    inFlight.catch(() => undefined);
  }
  await inFlight;
  return { registered };
}

async function postBatch(url: string, body: string, users: number): Promise<void> {
  // Node's global fetch keeps connections alive, so batches reuse one socket.
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    throw new Error(`Cannot reach the Braze sandbox at ${url} (${cause}); is it running?`, { cause: error });
  }
  if (!response.ok) {
    const detail = (await response.text()).slice(0, 500);
    throw new Error(`Braze sandbox answered ${response.status} to POST ${url} with ${users} users: ${detail}`);
  }
  // Drain the body so the connection goes back to the pool.
  await response.arrayBuffer();
}
