/**
 * ClickHouse's Native format for a client of a given protocol revision. ClickHouse's HTTP interface takes
 * `client_protocol_version=<revision>` (clickhouse-go, and so Grafana's ClickHouse datasource in HTTP
 * mode, always sends it with `default_format=Native`) and then writes each block as its TCP protocol
 * does: the block's info first (revision > 0) and, from revision 54454, a "custom serialization" flag after
 * each column's type. The embedded engine has no client revision and writes revision 0 blocks, so /sql
 * rewrites them: it reads each block's columns (names, types, the extent of each column's data, which
 * depends on its type) and inserts those bytes; the data itself is copied unchanged.
 *
 * Types read: integers, floats, Bool, Decimal*, Date*, DateTime*, UUID, IPv4/6, Enum8/16, Interval*,
 * Nothing, String, FixedString, Nullable, Array, Map, Tuple, LowCardinality. Others (Dynamic, Variant, JSON,
 * Object, AggregateFunction, geo types…) throw NativeTypeError naming the column: cast them in the query.
 */

/** The first revision whose blocks carry a custom-serialization flag per column (Protocol.h). */
export const REVISION_WITH_CUSTOM_SERIALIZATION = 54454;

/** A column of a type this rewriting does not read; the message names it and what to do. */
export class NativeTypeError extends Error {
  override readonly name = "NativeTypeError";
}

/** Bytes that are not Native blocks as the engine writes them (truncated, or another format). */
export class NativeFormatError extends Error {
  override readonly name = "NativeFormatError";
}

/** BlockInfo: field 1 is_overflows = false, field 2 bucket_num = -1, field 0 ends it. */
const BLOCK_INFO = Buffer.from([1, 0, 2, 0xff, 0xff, 0xff, 0xff, 0]);

/** Rewrites revision-0 Native blocks for a client of `revision`; unchanged for revision 0. */
export function nativeForRevision(native: Buffer, revision: number): Buffer {
  if (revision <= 0 || native.length === 0) return native;
  const r = new Reader(native);
  const out: Buffer[] = [];
  while (!r.done()) {
    const blockStart = r.at;
    const columns = r.varUInt();
    const rows = r.varUInt();
    out.push(BLOCK_INFO, native.subarray(blockStart, r.at));
    for (let c = 0; c < columns; c++) {
      const headerStart = r.at;
      const name = r.string();
      const typeName = r.string();
      out.push(native.subarray(headerStart, r.at));
      if (revision >= REVISION_WITH_CUSTOM_SERIALIZATION) out.push(Buffer.from([0]));
      const dataStart = r.at;
      if (rows > 0) {
        const type = parseType(typeName, name);
        skipPrefix(r, type);
        skipData(r, type, rows);
      }
      out.push(native.subarray(dataStart, r.at));
    }
  }
  return Buffer.concat(out);
}

class Reader {
  at = 0;
  constructor(private readonly buf: Buffer) {}
  done(): boolean {
    return this.at >= this.buf.length;
  }
  skip(n: number): void {
    if (n < 0 || this.at + n > this.buf.length)
      throw new NativeFormatError(`Native data ends ${this.at + n - this.buf.length} bytes early`);
    this.at += n;
  }
  varUInt(): number {
    let value = 0;
    for (let shift = 0; shift < 63; shift += 7) {
      if (this.done()) throw new NativeFormatError("Native data ends inside a number");
      const byte = this.buf[this.at++] as number;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    throw new NativeFormatError("a variable-length number is longer than 9 bytes");
  }
  string(): string {
    const n = this.varUInt();
    const start = this.at;
    this.skip(n);
    return this.buf.toString("utf8", start, this.at);
  }
  uint64(): number {
    const start = this.at;
    this.skip(8);
    const value = this.buf.readBigUInt64LE(start);
    if (value > BigInt(Number.MAX_SAFE_INTEGER))
      throw new NativeFormatError(`a count of ${value} is too large`);
    return Number(value);
  }
}

interface TypeNode {
  name: string;
  args: string[];
}

const FIXED_WIDTH: Record<string, number> = {
  UInt8: 1,
  Int8: 1,
  Bool: 1,
  Enum8: 1,
  Nothing: 1,
  UInt16: 2,
  Int16: 2,
  Date: 2,
  Enum16: 2,
  BFloat16: 2,
  UInt32: 4,
  Int32: 4,
  Float32: 4,
  Date32: 4,
  DateTime: 4,
  IPv4: 4,
  Decimal32: 4,
  Time: 4,
  UInt64: 8,
  Int64: 8,
  Float64: 8,
  DateTime64: 8,
  Decimal64: 8,
  Time64: 8,
  UInt128: 16,
  Int128: 16,
  UUID: 16,
  IPv6: 16,
  Decimal128: 16,
  UInt256: 32,
  Int256: 32,
  Decimal256: 32,
};

/** `Map(String, Array(Nullable(Float64)))` → { name: "Map", args: ["String", "Array(Nullable(Float64))"] }. */
function parseType(text: string, column: string): TypeNode & { column: string } {
  const open = text.indexOf("(");
  if (open < 0) return { name: text.trim(), args: [], column };
  if (!text.trimEnd().endsWith(")"))
    throw new NativeFormatError(`column ${column}: type ${text} is not a type`);
  return {
    name: text.slice(0, open).trim(),
    args: splitTopLevel(text.slice(open + 1, text.trimEnd().length - 1)),
    column,
  };
}

function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quote) {
      if (ch === "\\") i++;
      else if (ch === "'") quote = false;
    } else if (ch === "'") quote = true;
    else if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (ch === "," && depth === 0) {
      parts.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(s.slice(start).trim());
  return parts;
}

type Node = TypeNode & { column: string };
const child = (parent: Node, text: string): Node => parseType(text, parent.column);

/** A Tuple element is `Type` or `name Type`. */
function tupleElement(parent: Node, text: string): Node {
  const named = /^[A-Za-z_][A-Za-z0-9_]*\s+(.+)$/s.exec(text);
  return child(parent, named && !/^[A-Za-z0-9_]+\(/.test(text) ? (named[1] as string) : text);
}

function nested(t: Node): Node[] {
  switch (t.name) {
    case "Nullable":
    case "Array":
    case "LowCardinality":
      return [child(t, t.args[0] ?? "")];
    case "Map":
      return t.args.map((a) => child(t, a));
    case "Tuple":
      return t.args.map((a) => tupleElement(t, a));
    default:
      return [];
  }
}

/** State prefixes come before a column's data, nested types' in order: LowCardinality's key version. */
function skipPrefix(r: Reader, t: Node): void {
  if (t.name === "LowCardinality") r.skip(8);
  for (const n of nested(t)) skipPrefix(r, n);
}

const HAS_ADDITIONAL_KEYS = 1 << 9;
const NEEDS_GLOBAL_DICTIONARY = 1 << 8;
const INDEX_WIDTH = [1, 2, 4, 8];

function skipData(r: Reader, t: Node, rows: number): void {
  const width = fixedWidth(t);
  if (width !== undefined) {
    r.skip(width * rows);
    return;
  }
  switch (t.name) {
    case "String":
      for (let i = 0; i < rows; i++) r.skip(r.varUInt());
      return;
    case "FixedString":
      r.skip(Number(t.args[0]) * rows);
      return;
    case "Nullable":
      r.skip(rows);
      skipData(r, child(t, t.args[0] ?? ""), rows);
      return;
    case "Array":
    case "Map": {
      const last = arrayLength(r, rows);
      for (const n of nested(t)) skipData(r, n, last);
      return;
    }
    case "Tuple":
      for (const n of nested(t)) skipData(r, n, rows);
      return;
    case "LowCardinality": {
      const flags = r.uint64();
      if (flags & NEEDS_GLOBAL_DICTIONARY)
        throw new NativeFormatError(`column ${t.column}: a LowCardinality global dictionary in Native data`);
      if (flags & HAS_ADDITIONAL_KEYS) {
        const keys = r.uint64();
        const dictionary = child(t, t.args[0] ?? "");
        skipData(
          r,
          dictionary.name === "Nullable" ? child(dictionary, dictionary.args[0] ?? "") : dictionary,
          keys,
        );
      }
      const indexes = r.uint64();
      r.skip(indexes * (INDEX_WIDTH[flags & 0xff] ?? 8));
      return;
    }
    default:
      throw new NativeTypeError(
        `column ${t.column} is of type ${t.name}, which /sql cannot send as Native to this client; cast it (e.g. toString)`,
      );
  }
}

/** An Array's offsets (one UInt64 per row, cumulative): the number of elements, the last offset. */
function arrayLength(r: Reader, rows: number): number {
  r.skip(8 * (rows - 1));
  return r.uint64();
}

function fixedWidth(t: Node): number | undefined {
  if (t.name.startsWith("Interval")) return 8;
  if (t.name === "Decimal") {
    const precision = Number(t.args[0]);
    return precision <= 9 ? 4 : precision <= 18 ? 8 : precision <= 38 ? 16 : 32;
  }
  return FIXED_WIDTH[t.name];
}
