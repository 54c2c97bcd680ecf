/** The same suite as ../schedules.test.ts, with both databases on PostgreSQL. */
import { useEngines } from '../support/engines';

useEngines({ control: 'postgres', warehouse: 'postgres' });
await import('../schedules.test');
