import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import type { Context } from "hono";
import { HttpError } from "./http-error.js";

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
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  // On @hono/node-server, read Node's request stream directly: the Web-stream adapter in between costs a
  // turn of the event loop and a copy per chunk.
  const raw =
    incoming instanceof Readable
      ? await readLimited(incoming, limits.maxBodyBytes)
      : c.req.raw.body
        ? await readLimited(Readable.fromWeb(c.req.raw.body as WebReadableStream), limits.maxBodyBytes)
        : Buffer.alloc(0);
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

async function readLimited(body: AsyncIterable<Uint8Array>, max: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    // Leaving the loop early ends the stream; the rest of the body is not read.
    if (total > max) throw tooLarge(max);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

function tooLarge(max: number): HttpError {
  return new HttpError(
    413,
    "body_too_large",
    `the request body is larger than ${max} bytes`,
    undefined,
    true,
  );
}
