/**
 * The columns an insert writes and the RowBinary structure the engine reads them with, from one list so the
 * two cannot drift apart. Each row encoder writes its columns in this order.
 */
export interface InsertLayout {
  columns: readonly string[];
  /** As ClickHouse's `file()` / `format()` table functions take it: "name Type, …". */
  structure: string;
}

export function insertLayout(
  columns: ReadonlyArray<readonly [name: string, rowBinaryType: string]>,
): InsertLayout {
  return {
    columns: columns.map(([name]) => name),
    structure: columns.map(([name, type]) => `${name} ${type}`).join(", "),
  };
}
