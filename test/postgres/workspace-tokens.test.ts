/** The same suite as ../workspace-tokens.test.ts, with the control database on PostgreSQL. */
import { useEngines } from '../support/engines';

useEngines({ control: 'postgres' });
await import('../workspace-tokens.test');
