/** Number formatting and the figure-beside-its-goal lines every scenario prints. */

export const f = (n: number, d = 1) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '–';

export const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** One figure and its goal; `met` is null where there is no goal or the figure is unknown. */
export interface GoalRow {
  scenario: string;
  figure: string;
  value: string;
  goal: string;
  met: boolean | null;
}

export function goal(
  scenario: string,
  figure: string,
  value: string,
  goalText = '',
  met: boolean | null = null,
): GoalRow {
  return { scenario, figure, value, goal: goalText, met };
}

const mark = (met: boolean | null) => (met === null ? '' : met ? 'met' : 'MISSED');

/** Prints rows as an aligned table: figure, value, goal, met/MISSED. */
export function printGoals(rows: GoalRow[], withScenario = false): void {
  const label = (r: GoalRow) => (withScenario ? `${r.scenario}: ${r.figure}` : r.figure);
  const w = Math.max(...rows.map((r) => label(r).length), 6);
  const v = Math.max(...rows.map((r) => r.value.length), 5);
  const g = Math.max(...rows.map((r) => r.goal.length), 4);
  console.log(`${'figure'.padEnd(w)}  ${'value'.padStart(v)}  ${'goal'.padEnd(g)}`);
  for (const r of rows)
    console.log(`${label(r).padEnd(w)}  ${r.value.padStart(v)}  ${r.goal.padEnd(g)}  ${mark(r.met)}`);
}
