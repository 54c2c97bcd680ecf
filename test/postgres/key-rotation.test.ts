/** The same suite as ../key-rotation.test.ts, with the control database on PostgreSQL. */
import { useEngines } from '../support/engines';

useEngines({ control: 'postgres' });
await import('../key-rotation.test');
