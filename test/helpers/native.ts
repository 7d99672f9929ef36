/**
 * A reader of ClickHouse's Native format as a client of a given protocol revision reads it over HTTP
 * (clickhouse-go's `Block.Decode`): per block, BlockInfo (revision > 0), column and row counts, then per
 * column its name, its type, a custom-serialization flag (revision ≥ 54454; always 0 here) and its data.
 * Values come out as ClickHouse's JSON formats write them, so a test compares them with the engine's own
 * JSON answer. Written from the format's description, apart from /sql's code, for the tests.
 */

export interface NativeColumn {
  name: string;
  type: string;
  values: unknown[];
}

export function decodeNative(buf: Buffer, revision: number): NativeColumn[] {
  let at = 0;
  const need = (n: number) => {
    if (at + n > buf.length) throw new Error(`Native answer ends early at byte ${at}`);
  };
  const varUInt = () => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      need(1);
      const b = buf[at++] as number;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
  };
  const bytes = (n: number) => {
    need(n);
    at += n;
    return buf.subarray(at - n, at);
  };
  const str = () => bytes(varUInt()).toString("utf8");
  const u64 = () => Number(bytes(8).readBigUInt64LE(0));

  const columns: NativeColumn[] = [];
  while (at < buf.length) {
    if (revision > 0) {
      // BlockInfo: (field number, value) pairs up to field 0.
      for (let field = varUInt(); field !== 0; field = varUInt()) {
        if (field === 1) bytes(1);
        else if (field === 2) bytes(4);
        else throw new Error(`unknown BlockInfo field ${field}`);
      }
    }
    const ncols = varUInt();
    const rows = varUInt();
    for (let c = 0; c < ncols; c++) {
      const name = str();
      const type = str();
      if (revision >= 54454 && bytes(1)[0] !== 0) throw new Error(`${name}: custom serialization`);
      const values = rows === 0 ? [] : readColumn(type, rows);
      const existing = columns[c];
      if (existing) existing.values.push(...values);
      else columns.push({ name, type, values });
    }
  }
  return columns;

  function prefix(type: string): void {
    const [outer, inner] = split(type);
    if (outer === "LowCardinality") bytes(8);
    for (const t of inner) prefix(t);
  }

  function readColumn(type: string, rows: number): unknown[] {
    prefix(type);
    return read(type, rows);
  }

  function read(type: string, rows: number): unknown[] {
    const [outer, inner] = split(type);
    const out: unknown[] = [];
    const fixed = (size: number, get: (b: Buffer) => unknown) => {
      for (let i = 0; i < rows; i++) out.push(get(bytes(size)));
      return out;
    };
    switch (outer) {
      case "UInt8":
        return fixed(1, (b) => b.readUInt8(0));
      case "UInt16":
        return fixed(2, (b) => b.readUInt16LE(0));
      case "UInt32":
        return fixed(4, (b) => b.readUInt32LE(0));
      case "UInt64":
        return fixed(8, (b) => Number(b.readBigUInt64LE(0)));
      case "Int64":
        return fixed(8, (b) => Number(b.readBigInt64LE(0)));
      case "Float64":
        return fixed(8, (b) => b.readDoubleLE(0));
      case "DateTime":
        return fixed(4, (b) =>
          new Date(b.readUInt32LE(0) * 1000).toISOString().slice(0, 19).replace("T", " "),
        );
      case "DateTime64": // precision 3 only, as the tables use
        return fixed(8, (b) =>
          new Date(Number(b.readBigInt64LE(0))).toISOString().slice(0, 23).replace("T", " "),
        );
      case "String":
        for (let i = 0; i < rows; i++) out.push(str());
        return out;
      case "Nullable": {
        const nulls = bytes(rows);
        const values = read(inner[0] as string, rows);
        return values.map((v, i) => (nulls[i] ? null : v));
      }
      case "Array": {
        const offsets = Array.from({ length: rows }, u64);
        const flat = read(inner[0] as string, offsets.at(-1) ?? 0);
        return offsets.map((end, i) => flat.slice(i === 0 ? 0 : offsets[i - 1], end));
      }
      case "Map": {
        const offsets = Array.from({ length: rows }, u64);
        const keys = read(inner[0] as string, offsets.at(-1) ?? 0);
        const values = read(inner[1] as string, offsets.at(-1) ?? 0);
        return offsets.map((end, i) => {
          const start = i === 0 ? 0 : (offsets[i - 1] as number);
          return Object.fromEntries(keys.slice(start, end).map((k, j) => [k, values[start + j]]));
        });
      }
      case "LowCardinality": {
        const flags = u64();
        let dictionary: unknown[] = [];
        if (flags & (1 << 9)) {
          const [dictOuter, dictInner] = split(inner[0] as string);
          dictionary = read(
            dictOuter === "Nullable" ? (dictInner[0] as string) : (inner[0] as string),
            u64(),
          );
        }
        const n = u64();
        const width = [1, 2, 4, 8][flags & 0xff] as number;
        for (let i = 0; i < n; i++) {
          const b = bytes(width);
          const index = width === 8 ? Number(b.readBigUInt64LE(0)) : b.readUIntLE(0, width);
          out.push(dictionary[index]);
        }
        return out;
      }
      default:
        throw new Error(`the test's Native reader does not read ${type}`);
    }
  }
}

/** `Map(String, Float64)` → ["Map", ["String", "Float64"]]. */
function split(type: string): [string, string[]] {
  const open = type.indexOf("(");
  if (open < 0) return [type, []];
  const inner = type.slice(open + 1, -1);
  const args: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < inner.length; i++) {
    if (inner[i] === "(") depth++;
    else if (inner[i] === ")") depth--;
    else if (inner[i] === "," && depth === 0) {
      args.push(inner.slice(start, i).trim());
      start = i + 1;
    }
  }
  args.push(inner.slice(start).trim());
  return [type.slice(0, open), args];
}
