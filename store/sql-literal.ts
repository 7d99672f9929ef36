/**
 * Query parameters bound into the statement's text before it is sent, as the server binds them: each
 * `{name:Type}` placeholder becomes `_CAST(literal, 'Type')`, the form ClickHouse itself substitutes.
 */

/** A placeholder: `{name:Type}`, spaces allowed around either part. */
const PLACEHOLDER = /\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([^{}]+?)\s*\}/g;

/** Characters a single-quoted ClickHouse string literal escapes: the two that end it, and control bytes. */
const ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  "'": "\\'",
  "\0": "\\0",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/** Thrown for a value no placeholder can take: a programming error, not bad input. */
export class QueryParameterError extends Error {
  override name = "QueryParameterError";
}

/** A string as a single-quoted SQL literal. */
function stringLiteral(value: string): string {
  return `'${value.replace(/[\\'\0\b\f\n\r\t]/g, (c) => ESCAPES[c] as string)}'`;
}

/** A JavaScript value as a ClickHouse SQL literal: null, booleans, numbers, bigints, strings and arrays of them. */
export function sqlLiteral(value: unknown, name = "value"): string {
  if (value === null || value === undefined) return "NULL";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (Number.isNaN(value)) return "nan";
      if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
      return String(value);
    case "bigint":
      return value.toString();
    case "string":
      return stringLiteral(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => sqlLiteral(v, name)).join(",")}]`;
  throw new QueryParameterError(`query parameter ${name}: cannot bind a ${typeof value} (${String(value)})`);
}

/**
 * The statement with each placeholder whose name `params` holds replaced by its value. A placeholder
 * without a value is left as it is, for the engine to refuse, as it refuses any unset parameter.
 */
export function bindQueryParams(sql: string, params: Record<string, unknown>): string {
  return sql.replace(PLACEHOLDER, (placeholder, name: string, type: string) =>
    Object.hasOwn(params, name)
      ? `_CAST(${sqlLiteral(params[name], name)}, ${stringLiteral(type)})`
      : placeholder,
  );
}
