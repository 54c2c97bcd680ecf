import { loadConfig, loadLocalEnv } from '../src/config';
import { openWarehouse } from '../src/warehouse/open-warehouse';
import { openControlDb } from './client';

/** `npm run migrate`: applies the control database's and the warehouse's migrations. */
loadLocalEnv();
const config = loadConfig();
await (await openControlDb(config.databaseUrl)).close();
await (await openWarehouse(config.warehouseUrl)).close();
console.log(`migrated ${config.databaseUrl} and ${config.warehouseUrl}`);
