import type { GoalRow } from '../bench-report';
import type { ScenarioOptions } from './scenario';

export async function crashScenario(_options: ScenarioOptions): Promise<GoalRow[]> {
  return [];
}
