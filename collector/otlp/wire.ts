/**
 * A minimal protobuf wire-format reader. OTLP bodies are decoded straight into modelwatch's records with it,
 * without building protobufjs's generic message tree first: that tree and its Long objects cost more than
 * the rest of ingest together (measured: ~90k records/s per core for the generic decode alone).
 */

/** A body that is not valid protobuf, or not the message it claims to be. */
export class WireError extends Error {
  override readonly name = "WireError";
}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const utf8 = new TextDecoder("utf-8", { fatal: true });

export class WireReader {
  pos: number;
  private readonly view: DataView;
  private buffer: Buffer | undefined;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** The next field's tag: field number × 8 + wire type. */
  tag(): number {
    const tag = this.varint32();
    if (tag >>> 3 === 0) throw new WireError(`invalid field number 0 at byte ${this.pos}`);
    return tag;
  }

  /** A varint known to fit 32 bits (tags, lengths, enums, bool); the upper bits of a longer one are dropped. */
  varint32(): number {
    const buf = this.buf;
    let result = 0;
    let shift = 0;
    let pos = this.pos;
    while (true) {
      if (pos >= this.end) throw new WireError("truncated varint");
      const b = buf[pos++] as number;
      if (shift < 32) result |= (b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7;
      if (shift > 63) throw new WireError("varint longer than 10 bytes");
    }
    this.pos = pos;
    return result >>> 0;
  }

  /** An int64 varint as a number (exact up to 2^53). */
  int64(): number {
    let lo = 0;
    let hi = 0;
    let shift = 0;
    let pos = this.pos;
    const buf = this.buf;
    while (true) {
      if (pos >= this.end) throw new WireError("truncated varint");
      const b = buf[pos++] as number;
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (shift - 32);
      if (b < 0x80) break;
      shift += 7;
      if (shift > 63) throw new WireError("varint longer than 10 bytes");
    }
    this.pos = pos;
    if (hi & 0x80000000) return -((~hi >>> 0) * 4294967296 + (~lo >>> 0) + 1);
    return (hi >>> 0) * 4294967296 + (lo >>> 0);
  }

  /** A fixed64 nanosecond timestamp as whole epoch milliseconds (the store keeps milliseconds). */
  fixed64NanosAsMs(): number {
    if (this.pos + 8 > this.end) throw new WireError("truncated fixed64");
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
    // Exact without BigInt: hi × 2^32 = hi × 4294 × 10^6 + hi × 967296, and hi × 967296 + lo < 2^53.
    return hi * 4294 + Math.floor((hi * 967296 + lo) / 1e6);
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new WireError("truncated double");
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Reads a length prefix and returns the [start, end) of the field's bytes, moving past them. */
  lengthDelimited(): [number, number] {
    const len = this.varint32();
    const start = this.pos;
    const end = start + len;
    if (end > this.end) throw new WireError(`field of ${len} bytes runs past the end of its message`);
    this.pos = end;
    return [start, end];
  }

  /**
   * Steps into an embedded message: reads its length and returns where it ends. Reading its fields up to
   * that end leaves the reader just past the message; `leave` checks none of them overran it.
   */
  enter(): number {
    return this.fieldEnd();
  }

  leave(end: number, message: string): void {
    if (this.pos !== end) throw new WireError(`${message} overruns its length`);
  }

  string(): string {
    const start = this.pos + varintLength(this.buf, this.pos);
    const end = this.fieldEnd();
    this.pos = end;
    return decodeUtf8(this.buf, start, end);
  }

  /** Bytes as lower-case hex (trace and span ids). */
  hex(): string {
    const end = this.fieldEnd();
    const start = this.pos;
    this.pos = end;
    return start === end ? "" : this.asBuffer().toString("hex", start, end);
  }

  /**
   * Reads a length prefix, leaving the reader at the field's first byte, and returns where the field ends.
   * (The hot path's variant of lengthDelimited: no array allocated per field.)
   */
  private fieldEnd(): number {
    const len = this.varint32();
    const end = this.pos + len;
    if (end > this.end) throw new WireError(`field of ${len} bytes runs past the end of its message`);
    return end;
  }

  private asBuffer(): Buffer {
    this.buffer ??= asBuffer(this.buf);
    return this.buffer;
  }

  /** Skips a field of the given wire type. */
  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.int64();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LEN:
        this.lengthDelimited();
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      default:
        throw new WireError(`unsupported wire type ${wireType}`);
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw new WireError("truncated field");
    this.pos += n;
  }
}

/** Checks a field has the wire type its schema says, so a mistyped body is an error, not garbage. */
export function expectWireType(tag: number, expected: number, field: string): void {
  if ((tag & 7) !== expected)
    throw new WireError(`field ${field} has wire type ${tag & 7}, expected ${expected}`);
}

function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  const len = end - start;
  if (len === 0) return "";
  if (len <= MAX_INTERNED_LENGTH) {
    // Short strings (attribute keys, classes, versions, segment values) repeat on every record: look them
    // up instead of allocating a new string each time. Keys that differ tend to differ at the end
    // ("ml.feature.f1", "ml.feature.f2"), so the length and the last bytes pick the slot; a hit is then
    // compared in full (which also proves the bytes ASCII, as cached strings are).
    let hash = Math.imul(2166136261 ^ len, 16777619);
    for (let i = Math.max(start, end - 8); i < end; i++)
      hash = Math.imul(hash ^ (buf[i] as number), 16777619);
    const slot = (hash >>> 0) & (INTERN_SLOTS - 1);
    const cached = interned[slot];
    if (cached !== undefined && cached.length === len && sameAscii(cached, buf, start)) return cached;
    if (isAscii(buf, start, end)) {
      const text = asBuffer(buf).toString("latin1", start, end);
      interned[slot] = text;
      return text;
    }
  } else if (isAscii(buf, start, end)) {
    return asBuffer(buf).toString("latin1", start, end);
  }
  try {
    return utf8.decode(buf.subarray(start, end));
  } catch {
    throw new WireError("string field is not valid UTF-8");
  }
}

const MAX_INTERNED_LENGTH = 40;
const INTERN_SLOTS = 4096;
/** A small direct-mapped cache of recently decoded short strings; a collision just replaces the slot. */
const interned: Array<string | undefined> = new Array(INTERN_SLOTS).fill(undefined);

/** Bytes taken by the varint at `pos`. */
function varintLength(buf: Uint8Array, pos: number): number {
  let n = 1;
  while (((buf[pos + n - 1] as number) & 0x80) !== 0 && n < 10) n++;
  return n;
}

function sameAscii(text: string, buf: Uint8Array, start: number): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}

function isAscii(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if ((buf[i] as number) >= 0x80) return false;
  return true;
}

function asBuffer(buf: Uint8Array): Buffer {
  return Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
}
