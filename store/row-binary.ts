/**
 * An encoder for ClickHouse's RowBinary format, in which rows reach the engine (see Store.insertRows):
 * numbers are written as their IEEE bytes instead of being formatted as text by JavaScript and parsed back
 * by the engine, which were the two largest costs of ingest (measured: ~0.4 µs per double to format, ~25
 * doubles per row).
 */
export class RowBinaryWriter {
  private buf: Buffer;
  private view: DataView;
  private pos = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** The bytes written so far (a view, valid until the next write). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** Int64 epoch milliseconds: DateTime64(3). */
  dateTime64Ms(ms: number): void {
    this.ensure(8);
    const whole = Math.floor(ms);
    const lo = whole % 4294967296;
    const loU = lo < 0 ? lo + 4294967296 : lo;
    const hi = Math.floor((whole - loU) / 4294967296);
    this.view.setUint32(this.pos, loU, true);
    this.view.setInt32(this.pos + 4, hi, true);
    this.pos += 8;
  }

  float64(value: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, value, true);
    this.pos += 8;
  }

  /** Nullable(Float64): a null flag byte, then the value when there is one. */
  nullableFloat64(value: number | null): void {
    this.ensure(9);
    if (value === null) {
      this.buf[this.pos++] = 1;
      return;
    }
    this.buf[this.pos++] = 0;
    this.view.setFloat64(this.pos, value, true);
    this.pos += 8;
  }

  /** LEB128, for lengths and map sizes. */
  varUInt(value: number): void {
    this.ensure(10);
    let v = value;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  /** Map(String, Float64): the entry count, then each key and value. */
  numberMap(keys: readonly string[], values: ArrayLike<number>): void {
    this.varUInt(keys.length);
    for (let i = 0; i < keys.length; i++) {
      this.string(keys[i] as string);
      this.float64(values[i] as number);
    }
  }

  /** Map(String, String). */
  stringMap(keys: readonly string[], values: readonly string[]): void {
    this.varUInt(keys.length);
    for (let i = 0; i < keys.length; i++) {
      this.string(keys[i] as string);
      this.string(values[i] as string);
    }
  }

  /** String: its UTF-8 byte length, then the bytes. */
  string(value: string): void {
    const n = value.length;
    // Short ASCII strings (names, classes, ids) are written byte by byte: cheaper than a native call.
    if (n < 128) {
      this.ensure(n + 1);
      const start = this.pos;
      const buf = this.buf;
      let p = start + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        buf[p++] = c;
      }
      if (i === n) {
        buf[start] = n;
        this.pos = p;
        return;
      }
    }
    const bytes = Buffer.byteLength(value, "utf8");
    this.varUInt(bytes);
    this.ensure(bytes);
    this.pos += this.buf.write(value, this.pos, bytes, "utf8");
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + extra));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }
}

/** What RowBinaryReader.repeatedString remembers: per slot, the last bytes read and their string. */
export interface StringCache {
  bytes: Uint8Array[];
  text: string[];
}

export function stringCache(): StringCache {
  return { bytes: [], text: [] };
}

/** Reads what RowBinaryWriter writes. Throws RangeError past the end. */
export class RowBinaryReader {
  private pos = 0;
  private readonly view: DataView;
  private readonly buf: Buffer;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  dateTime64Ms(): number {
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getInt32(this.pos + 4, true);
    this.pos += 8;
    return hi * 4294967296 + lo;
  }

  float64(): number {
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Int64 as a number (exact up to 2^53). */
  int64(): number {
    return this.dateTime64Ms();
  }

  uint8(): number {
    return this.byte();
  }

  /** An Array(Float32) of RowBinary, its values copied into `into` from `at`; returns its length. */
  float32ArrayInto(into: Float32Array, at: number): number {
    const n = this.varUInt();
    if (at + n > into.length) throw new RangeError("array longer than the room given for it");
    for (let i = 0; i < n; i++) into[at + i] = this.view.getFloat32(this.pos + i * 4, true);
    this.pos += n * 4;
    return n;
  }

  nullableFloat64(): number | null {
    if (this.byte() === 1) return null;
    return this.float64();
  }

  varUInt(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
  }

  string(): string {
    const n = this.varUInt();
    if (this.pos + n > this.buf.length) throw new RangeError("string runs past the end of the rows");
    const text = this.buf.toString("utf8", this.pos, this.pos + n);
    this.pos += n;
    return text;
  }

  /**
   * A String that tends to repeat row after row at the same place (a map's keys, a model's name): when its
   * bytes equal those last read for `slot` of `cache`, the string decoded then is returned, not decoded
   * again. Decoding is the costly part of reading short strings; comparing a few bytes is not.
   */
  repeatedString(cache: StringCache, slot: number): string {
    const n = this.varUInt();
    const start = this.pos;
    if (start + n > this.buf.length) throw new RangeError("string runs past the end of the rows");
    this.pos += n;
    const last = cache.bytes[slot];
    if (last !== undefined && last.length === n) {
      let same = true;
      for (let i = 0; i < n; i++)
        if (last[i] !== this.buf[start + i]) {
          same = false;
          break;
        }
      if (same) return cache.text[slot] as string;
    }
    const text = this.buf.toString("utf8", start, start + n);
    cache.bytes[slot] = this.buf.subarray(start, start + n).slice();
    cache.text[slot] = text;
    return text;
  }

  /** Steps over a String without decoding it. */
  skipString(): void {
    const n = this.varUInt();
    if (this.pos + n > this.buf.length) throw new RangeError("string runs past the end of the rows");
    this.pos += n;
  }

  /** Steps over `n` bytes. */
  skip(n: number): void {
    if (this.pos + n > this.buf.length) throw new RangeError("read past the end of the rows");
    this.pos += n;
  }

  private byte(): number {
    if (this.pos >= this.buf.length) throw new RangeError("read past the end of the rows");
    return this.buf[this.pos++] as number;
  }
}
