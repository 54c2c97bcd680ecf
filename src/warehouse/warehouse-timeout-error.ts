/** A warehouse statement ran past its deadline (PostgreSQL's statement_timeout) and was cancelled. */
export class WarehouseTimeoutError extends Error {
  override name = 'WarehouseTimeoutError';

  constructor(
    readonly operation: string,
    readonly limitMs: number,
    options?: ErrorOptions,
  ) {
    super(
      `The warehouse did not finish ${operation} within ${limitMs} ms and cancelled it; ` +
        'raise WAREHOUSE_BULK_TIMEOUT_MS / WAREHOUSE_QUERY_TIMEOUT_MS or narrow the criteria',
      options,
    );
  }
}
