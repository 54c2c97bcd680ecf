import type { BenchEngine } from '../bench-stores';
import type { Undo } from '../bench-undo';
import type { GoalRow } from '../bench-report';

export interface ScenarioOptions {
  engine: BenchEngine;
  /** --users, when given; each scenario has its own default otherwise. */
  users: number | undefined;
  /** The window scenario's limit: requests per window_seconds. */
  window: { requests: number; seconds: number };
  undo: Undo;
}

/** A scenario prints its own figures and returns them beside their goals for the summary. */
export type Scenario = (options: ScenarioOptions) => Promise<GoalRow[]>;
