/** The same suite as ../schedules.test.ts, with the control database on PostgreSQL. */
import { useEngines } from '../support/engines';

useEngines({ control: 'postgres' });
await import('../schedules.test');
