/** The same suite as ../run-execution.test.ts, with both databases on PostgreSQL. */
import { useEngines } from '../support/engines';

useEngines({ control: 'postgres', warehouse: 'postgres' });
await import('../run-execution.test');
