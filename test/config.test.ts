import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config';

const valid = { ADMIN_TOKEN: 'a'.repeat(20), ENCRYPTION_KEY: 'ab'.repeat(32) };

describe('configuration', () => {
  it('applies defaults to a minimal environment', () => {
    const c = loadConfig(valid);
    expect(c.port).toBe(3000);
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.braze.partner).toBe('kubit');
    expect(c.encryptionKey).toHaveLength(32);
    // Production's job locks (tests that kill workers shorten them).
    expect(c.worker).toMatchObject({ importRunLockMs: 30_000, uploadPageLockMs: 10_000, stalledCheckMs: 5_000 });
    // Unset: the stores wait their default (db/client.ts).
    expect(c.storeLockWaitMs).toBeUndefined();
    expect(c.queueDeadlineMs).toBe(5_000);
  });

  it.each([
    [{}, /ADMIN_TOKEN: is required/],
    [{ ...valid, ENCRYPTION_KEY: 'short' }, /ENCRYPTION_KEY: must be 32 bytes/],
    [{ ...valid, PORT: 'eighty' }, /PORT/],
    [{ ...valid, REDIS_URL: 'localhost:6379' }, /REDIS_URL/],
    [{ ...valid, BRAZE_PARTNER: 'Kubit Inc' }, /BRAZE_PARTNER/],
    [{ ...valid, BRAZE_ENDPOINT_ALLOWLIST: 'http://127.0.0.1:4010/path' }, /BRAZE_ENDPOINT_ALLOWLIST/],
    [{ ...valid, BRAZE_ENDPOINT_ALLOWLIST: 'APAC=http://127.0.0.1:4010' }, /BRAZE_ENDPOINT_ALLOWLIST/],
    [{ ...valid, WORKER_CONCURRENCY: '0' }, /WORKER_CONCURRENCY/],
    [{ ...valid, WORKER_CONCURRENCY: 'abc' }, /WORKER_CONCURRENCY: must be a whole number from 1 to 256/],
    [{ ...valid, PORT: '3000.5' }, /PORT: must be a whole number from 0 to 65535/],
    [{ ...valid, LOG_FORMAT: 'xml' }, /LOG_FORMAT/],
    [
      { ...valid, BRAZE_RATE_LIMIT_PER_HOUR: '250000' },
      /BRAZE_RATE_LIMIT_PER_HOUR: was replaced by BRAZE_RATE_LIMIT_REQUESTS/,
    ],
    [{ ...valid, BRAZE_RATE_LIMIT_WINDOW_S: '0' }, /BRAZE_RATE_LIMIT_WINDOW_S/],
    [{ ...valid, BRAZE_MAX_PAGES_IN_FLIGHT_PER_COHORT: '0' }, /BRAZE_MAX_PAGES_IN_FLIGHT_PER_COHORT/],
    [{ ...valid, BRAZE_KEY_CHECK_TIMEOUT_MS: '-1' }, /BRAZE_KEY_CHECK_TIMEOUT_MS/],
    [{ ...valid, IMPORT_RUN_LOCK_MS: '500' }, /IMPORT_RUN_LOCK_MS: must be a whole number at least 1000/],
    [{ ...valid, STORE_LOCK_WAIT_MS: '0' }, /STORE_LOCK_WAIT_MS: must be a whole number at least 1/],
  ])('names the bad variable: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('accepts a base64 encryption key and an allowlist of origins', () => {
    const c = loadConfig({
      ...valid,
      ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
      BRAZE_ENDPOINT_ALLOWLIST: 'http://127.0.0.1:4010, EU=http://localhost:4011',
    });
    expect(c.encryptionKey.equals(Buffer.alloc(32, 7))).toBe(true);
    expect(c.braze.endpointAllowlist).toEqual(['http://127.0.0.1:4010', 'EU=http://localhost:4011']);
  });

  it('takes ENCRYPTION_KEYS newest first, or ENCRYPTION_KEY alone', () => {
    const [k1, k2] = [Buffer.alloc(32, 1), Buffer.alloc(32, 2)];
    const c = loadConfig({
      ADMIN_TOKEN: valid.ADMIN_TOKEN,
      ENCRYPTION_KEYS: `${k1.toString('hex')}, ${k2.toString('base64')}`,
    });
    expect(c.encryptionKeys).toEqual([k1, k2]);
    expect(c.encryptionKey.equals(k1)).toBe(true);
    expect(loadConfig(valid).encryptionKeys).toHaveLength(1);
  });

  it.each([
    [{ ADMIN_TOKEN: 'a'.repeat(20) }, /ENCRYPTION_KEYS: is required/],
    [
      { ADMIN_TOKEN: 'a'.repeat(20), ENCRYPTION_KEYS: `${'ab'.repeat(32)},${'cd'.repeat(31)}` },
      /ENCRYPTION_KEYS: key 2 of 2 must be 32 bytes/,
    ],
    [{ ...valid, ENCRYPTION_KEYS: 'cd'.repeat(32) }, /ENCRYPTION_KEY: set ENCRYPTION_KEYS or ENCRYPTION_KEY, not both/],
    [
      {
        ADMIN_TOKEN: 'a'.repeat(20),
        ENCRYPTION_KEYS: `${'ab'.repeat(32)},${Buffer.alloc(32, 0xab).toString('base64')}`,
      },
      /ENCRYPTION_KEYS: lists the same key twice/,
    ],
  ])('refuses bad encryption keys without printing them: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
    try {
      loadConfig(env);
    } catch (err) {
      expect((err as Error).message).not.toMatch(/abab|cdcd|q6ur/);
    }
  });
});
