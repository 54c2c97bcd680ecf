/** The same suite as ../import.e2e.test.ts, with the control database on PostgreSQL. */
import { useEngines } from '../support/engines';

useEngines({ control: 'postgres' });
await import('../import.e2e.test');
