/**
 * Which engines the in-process system of this test file uses. A file under test/postgres/
 * sets PostgreSQL and then imports a suite written once (e.g. ../api.test), so the same tests
 * run on both engines without being written twice.
 */
export type Engine = 'sqlite' | 'postgres';

export interface Engines {
  control: Engine;
  warehouse: Engine;
}

const chosen: Engines = { control: 'sqlite', warehouse: 'sqlite' };

export function useEngines(engines: Partial<Engines>): void {
  Object.assign(chosen, engines);
}

export function testEngines(): Engines {
  return { ...chosen };
}
