import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import type { Context } from "hono";
import { HttpError } from "../../common/index.js";

const gunzipAsync = promisify(gunzip);

export interface BodyLimits {
  /** Largest request body accepted as sent (compressed or not). */
  maxBodyBytes: number;
  /** Largest body after decompression: a gzip bomb stops here. */
  maxDecompressedBytes: number;
}

/**
 * Reads the request body within the limits, undoing `Content-Encoding: gzip`. Throws HttpError 413 for a
 * body over a limit, 400 for an unknown encoding or a corrupt gzip stream.
 */
export async function readBody(c: Context, limits: BodyLimits): Promise<Buffer> {
  const encoding = (c.req.header("content-encoding") ?? "identity").trim().toLowerCase();
  if (encoding !== "gzip" && encoding !== "identity" && encoding !== "") {
    throw new HttpError(
      400,
      "unsupported_encoding",
      `Content-Encoding ${encoding} is not supported; use gzip or none`,
    );
  }
  const declared = Number(c.req.header("content-length") ?? Number.NaN);
  if (declared > limits.maxBodyBytes) throw tooLarge(limits.maxBodyBytes);
  const raw = await readLimited(c.req.raw.body, limits.maxBodyBytes);
  if (encoding !== "gzip") return raw;
  try {
    return await gunzipAsync(raw, { maxOutputLength: limits.maxDecompressedBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" || err instanceof RangeError) {
      throw new HttpError(
        413,
        "decompressed_too_large",
        `the body decompresses to more than ${limits.maxDecompressedBytes} bytes`,
      );
    }
    throw new HttpError(400, "bad_gzip", `the gzip body is corrupt: ${(err as Error).message}`);
  }
}

async function readLimited(body: ReadableStream<Uint8Array> | null, max: number): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge(max);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

function tooLarge(max: number): HttpError {
  return new HttpError(413, "body_too_large", `the request body is larger than ${max} bytes`);
}
