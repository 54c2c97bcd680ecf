import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Redis } from 'ioredis';

/** How often the thread renews the key, and how long the key outlives the last renewal. */
const BEAT_MS = 1_000;
const TTL_MS = 5_000;

/**
 * Who executes a run's start, and whether that process still lives. A run's start holds a lease
 * on its row for as long as its freeze and diff may take (minutes), because a freeze on SQLite
 * holds the event loop, and with it the job's lock renewal: another worker that takes the job
 * meanwhile must step aside. But a worker killed mid-freeze would then hold its run for those
 * minutes. Each worker process therefore runs a beacon: a thread with a Redis connection of its
 * own that renews `<prefix>:executor-alive:<id>` every second (5 s lifetime), whatever the main
 * thread is doing. The lease records the holder's id; a worker that finds the lease held by an
 * id whose key is gone (twice, a beat apart, so a Redis that just lost its data does not count)
 * takes the lease over (RunRepository.leaseExecution with `takeOverFrom`).
 */
export class ExecutorBeacon {
  /** This process, e.g. `host-1234-1a2b3c`: unique even when a pid is reused. */
  readonly id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private thread: Worker | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly redisUrl: string,
    private readonly prefix: string,
  ) {}

  /** Starts beating (worker processes only: web never executes a run's start). */
  async start(): Promise<void> {
    if (this.thread) return;
    const thread = new Worker(new URL('./executor-beacon-thread.mjs', import.meta.url), {
      workerData: { redisUrl: this.redisUrl, key: this.key(this.id), ttlMs: TTL_MS, everyMs: BEAT_MS },
    });
    // A beacon is not worth a crash: without it the lease simply runs its full length.
    thread.on('error', () => undefined);
    thread.unref();
    this.thread = thread;
    // The first beat is on its way; wait for it so a lease taken right away is backed by it.
    await this.waitForBeat();
  }

  async stop(): Promise<void> {
    const thread = this.thread;
    if (!thread) return;
    this.thread = undefined;
    await new Promise<void>((resolve) => {
      const done = setTimeout(resolve, 2_000);
      thread.once('message', () => {
        clearTimeout(done);
        resolve();
      });
      thread.postMessage('stop');
    });
    await thread.terminate();
  }

  /**
   * Whether the executor `id` is gone: its key absent now and a beat later. Unsure (Redis
   * unreachable) counts as alive — taking over a live executor is the one thing to avoid.
   */
  async isGone(id: string): Promise<boolean> {
    try {
      if (await this.redis.exists(this.key(id))) return false;
      await new Promise((r) => setTimeout(r, 2 * BEAT_MS));
      return (await this.redis.exists(this.key(id))) === 0;
    } catch {
      return false;
    }
  }

  private async waitForBeat(): Promise<void> {
    for (let i = 0; i < 50; i++) {
      if (await this.redis.exists(this.key(this.id)).catch(() => 0)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private key(id: string): string {
    return executorAliveKey(this.prefix, id);
  }
}

/** The key an executor's beacon keeps alive. */
export const executorAliveKey = (prefix: string, id: string) => `${prefix}:executor-alive:${id}`;
