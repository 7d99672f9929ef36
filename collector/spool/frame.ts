import { crc32 } from "node:zlib";
import type { TableName } from "../../store/rows.js";

/**
 * One durable unit of the spool: the RowBinary rows one request wrote into one table.
 *
 *   offset 0  u32 magic "MWF1"
 *          4  u32 payload bytes
 *          8  u32 records
 *         12  u8  table (TABLE_CODES), 3 bytes zero
 *         16  u32 CRC-32 of bytes 4..15 and of the payload
 *         20  payload
 *
 * Little-endian. The checksum covers the header too, so a torn or overwritten frame is never mistaken for
 * a shorter valid one.
 */
export interface Frame {
  table: TableName;
  records: number;
  rows: Uint8Array;
}

const MAGIC = 0x3146574d; // "MWF1" read as little-endian u32
export const FRAME_HEADER_BYTES = 20;

const TABLE_CODES: Record<TableName, number> = { predictions: 1, labels: 2 };
const TABLES_BY_CODE = new Map<number, TableName>(
  Object.entries(TABLE_CODES).map(([table, code]) => [code, table as TableName]),
);

/** Header and payload of one frame, as two buffers for a vectored write. */
export function encodeFrame(frame: Frame): [Buffer, Buffer] {
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt32LE(frame.rows.byteLength, 4);
  header.writeUInt32LE(frame.records, 8);
  header.writeUInt8(TABLE_CODES[frame.table], 12);
  const payload = Buffer.from(frame.rows.buffer, frame.rows.byteOffset, frame.rows.byteLength);
  header.writeUInt32LE(crc32(payload, crc32(header.subarray(4, 16))), 16);
  return [header, payload];
}

export interface ScanResult {
  frames: Frame[];
  /** Bytes of the file that hold whole, valid frames; anything past it is a torn or corrupt tail. */
  validBytes: number;
}

/**
 * Reads frames from the start of a segment until its end or the first frame that is incomplete or fails
 * its checksum. Acknowledged frames were fsync'd before any later frame was written, so everything after
 * the first bad frame was never acknowledged.
 */
export function scanFrames(bytes: Buffer): ScanResult {
  const frames: Frame[] = [];
  let at = 0;
  while (at + FRAME_HEADER_BYTES <= bytes.length) {
    if (bytes.readUInt32LE(at) !== MAGIC) break;
    const length = bytes.readUInt32LE(at + 4);
    const table = TABLES_BY_CODE.get(bytes.readUInt8(at + 12));
    const end = at + FRAME_HEADER_BYTES + length;
    if (table === undefined || end > bytes.length) break;
    const payload = bytes.subarray(at + FRAME_HEADER_BYTES, end);
    const expected = crc32(payload, crc32(bytes.subarray(at + 4, at + 16)));
    if (bytes.readUInt32LE(at + 16) !== expected) break;
    frames.push({ table, records: bytes.readUInt32LE(at + 8), rows: payload });
    at = end;
  }
  return { frames, validBytes: at };
}
