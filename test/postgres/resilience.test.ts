/** The same suite as ../resilience.test.ts, with the control database on PostgreSQL. */
import { useEngines } from '../support/engines';

useEngines({ control: 'postgres' });
await import('../resilience.test');
