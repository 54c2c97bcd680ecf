/** The same suite as ../import.e2e.test.ts, with both databases on PostgreSQL. */
import { useEngines } from '../support/engines';

useEngines({ control: 'postgres', warehouse: 'postgres' });
await import('../import.e2e.test');
