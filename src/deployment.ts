import type { Redis } from 'ioredis';
import type { ControlDb } from '../db/client';
import { redactRedisUrl } from './redis';

/** Another deployment (another control database) owns this Redis queue prefix. */
export class PrefixOwnedElsewhereError extends Error {
  override name = 'PrefixOwnedElsewhereError';
}

/**
 * A deployment owns its queue prefix in Redis. Two checkouts (or environments) pointed at one
 * Redis with the same QUEUE_PREFIX would take each other's jobs and delete each other's job
 * schedulers; the first to start claims the prefix with the id its control database was made
 * with, and any process whose database carries another id refuses to start.
 */
export class DeploymentClaim {
  constructor(
    private readonly db: ControlDb,
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly redisUrl: string,
  ) {}

  /** The id made by the migration that created the control database. */
  async id(): Promise<string> {
    const { deployment } = this.db.tables;
    const [row] = await this.db.select().from(deployment).limit(1);
    if (!row) throw new Error('The control database has no deployment id: run the migrations (npm run migrate).');
    return row.id;
  }

  get key(): string {
    return `${this.prefix}:deployment`;
  }

  /**
   * Claims the prefix, or confirms this deployment holds it. Claims again after Redis lost its
   * data. Throws PrefixOwnedElsewhereError when another deployment holds it.
   */
  async claim(): Promise<void> {
    const id = await this.id();
    await this.redis.set(this.key, id, 'NX');
    const owner = await this.redis.get(this.key);
    if (owner !== null && owner !== id) {
      throw new PrefixOwnedElsewhereError(
        `The queue prefix "${this.prefix}" at ${redactRedisUrl(this.redisUrl)} belongs to another deployment ` +
          `(another control database). Set QUEUE_PREFIX to a prefix of this deployment's own, e.g. ` +
          `QUEUE_PREFIX=cohort-import-${id.slice(0, 8)}; or, if that other deployment is gone for good, ` +
          `release the prefix with: redis-cli del ${this.key}`,
      );
    }
  }
}
