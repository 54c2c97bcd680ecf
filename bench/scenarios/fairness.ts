import type { GoalRow } from '../bench-report';
import type { ScenarioOptions } from './scenario';

export async function fairnessScenario(_options: ScenarioOptions): Promise<GoalRow[]> {
  return [];
}
