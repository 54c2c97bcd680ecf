import { WarehouseTimeoutError } from './warehouse-timeout-error';

/** An error as a warehouse thread posts it: a structured clone keeps no class. */
export interface ThreadErrorShape {
  name: string;
  message: string;
  code?: string;
  /** A bulk call past its deadline (WarehouseTimeoutError's fields). */
  operation?: string;
  limitMs?: number;
}

/** The thread's error as callers test for it: its class, or its name and SQLite's code. */
export function threadError(shape: ThreadErrorShape): Error {
  if (shape.name === 'WarehouseTimeoutError' && shape.operation !== undefined && shape.limitMs !== undefined) {
    return new WarehouseTimeoutError(shape.operation, shape.limitMs);
  }
  return Object.assign(new Error(shape.message), { name: shape.name, ...(shape.code ? { code: shape.code } : {}) });
}
