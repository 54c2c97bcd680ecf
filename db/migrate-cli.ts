import { loadConfig, loadLocalEnv } from '../src/config';
import { openSqliteWarehouse } from '../src/warehouse/sqlite-warehouse';
import { openControlDb } from './client';

/** `npm run migrate`: applies the control database's and the warehouse's migrations. */
loadLocalEnv();
const config = loadConfig();
await (await openControlDb(config.databaseUrl)).close();
(await openSqliteWarehouse(config.warehouseUrl)).close();
console.log(`migrated ${config.databaseUrl} and ${config.warehouseUrl}`);
