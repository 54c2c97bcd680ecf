/** The same suite as ../resilience.test.ts, with both databases on PostgreSQL. */
import { useEngines } from '../support/engines';

useEngines({ control: 'postgres', warehouse: 'postgres' });
await import('../resilience.test');
