/**
 * Whether the bytes are all of their buffer, which is not Node's shared pool: then the buffer can be moved
 * to another thread rather than copied (request bodies and rows are typically hundreds of KB, allocated on
 * their own).
 */
export function ownsItsBuffer(bytes: Uint8Array): boolean {
  return (
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer.byteLength > Buffer.poolSize &&
    bytes.buffer instanceof ArrayBuffer
  );
}
