import { openControlDb } from '../db/client';
import { ConfigError, loadConfig, loadLocalEnv } from '../src/config';
import { SecretBox } from '../src/crypto/secret-box';
import { BrazeConnectionService } from '../src/services/braze-connections';

/**
 * `npm run reseal`: seals every stored data import key again with the newest of ENCRYPTION_KEYS,
 * so the older keys can then be removed. Safe to run beside web and workers, and again.
 * Prints counts, key ids and workspace ids only: never a key.
 */
loadLocalEnv();
let config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`reseal: ${err.problems.join('\nreseal: ')}`);
  process.exit(1);
}
const db = await openControlDb(config.databaseUrl);
try {
  const box = new SecretBox(config.encryptionKeys);
  const report = await new BrazeConnectionService(db, box, config.braze).resealAll();
  console.log(`reseal: newest key ${report.keyId}; ${config.encryptionKeys.length} key(s) configured`);
  console.log(`reseal: ${report.resealed} data import key(s) sealed again with key ${report.keyId}`);
  if (report.changedMeanwhile > 0) {
    console.log(`reseal: ${report.changedMeanwhile} saved anew while this ran (already on the newest key)`);
  }
  for (const u of report.unreadable) console.error(`reseal: workspace ${u.workspaceId} left as it was: ${u.reason}`);
  if (report.unreadable.length > 0) {
    console.error('reseal: add the missing key to ENCRYPTION_KEYS and run again, or save those connections anew');
    process.exitCode = 1;
  } else {
    console.log('reseal: every data import key is on the newest key; older keys can be removed from ENCRYPTION_KEYS');
  }
} finally {
  await db.close();
}
