import { OUTCOME_LABEL } from '../format';
import type { RunStatus } from '../types';

export function Outcome({ status }: { status: RunStatus }) {
  return <span class={`outcome outcome-${status}`}>{OUTCOME_LABEL[status]}</span>;
}
