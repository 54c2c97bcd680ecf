/** The same suite as ../store-busy.test.ts, with both databases on PostgreSQL (a table lock past lock_timeout). */
import { useEngines } from '../support/engines';

useEngines({ control: 'postgres', warehouse: 'postgres' });
await import('../store-busy.test');
