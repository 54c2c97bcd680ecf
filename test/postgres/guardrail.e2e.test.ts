/** The same suite as ../guardrail.e2e.test.ts, with both databases on PostgreSQL. */
import { useEngines } from '../support/engines';

useEngines({ control: 'postgres', warehouse: 'postgres' });
await import('../guardrail.e2e.test');
