import { type BodyFraming, NO_BODY, requestBody, responseBody } from "./http-body.js";
import { parseRequestHead, parseResponseHead, type RequestHead, type ResponseHead } from "./http-head.js";

/**
 * What a framer tells as it reads one direction of an HTTP/1.1 connection. A message's head is handed over
 * whole and is not forwarded by the framer (the listener writes it, edited or not); every other byte is
 * handed to `forward` exactly as it arrived, chunked framing included, in order, before `end`.
 */
export interface FramerListener<H> {
  head(head: H): void;
  /** Bytes after a head (or between messages), as they arrived. */
  forward(bytes: Buffer): void;
  /** The body's content: chunked framing removed. */
  body(data: Buffer): void;
  /** The message is complete (not told for a 1xx interim answer). */
  end(): void;
  /**
   * The stream cannot be followed from here (an upgrade, CONNECT, malformed framing, a bound passed): the
   * bytes not yet handed over (a held partial head, the rest of the chunk). Nothing is told after this.
   */
  unframeable(reason: string, rest: Buffer[]): void;
}

/** How far a head may run before the stream is given up on (Node's own bound is 16 KiB). */
export const MAX_HEAD_BYTES = 64 * 1024;
/** A chunk-size line with its extensions, or a trailer section, at most. */
const MAX_CHUNK_LINE_BYTES = 64 * 1024;

const CR = 13;
const LF = 10;

// Where the framer is in a message: its head, or its body framed by length, by chunks, or by the close.
const HEAD = 0;
const LENGTH = 1;
const CHUNK_SIZE = 2;
const CHUNK_EXTENSION = 3;
const CHUNK_SIZE_LF = 4;
const CHUNK_DATA = 5;
const CHUNK_DATA_CR = 6;
const CHUNK_DATA_LF = 7;
const TRAILER_LINE_START = 8;
const TRAILER_LINE = 9;
const TRAILER_LINE_LF = 10;
const TRAILER_END_LF = 11;
const UNTIL_CLOSE = 12;
const FAILED = 13;
type State = number;

/**
 * An incremental HTTP/1.1 framer for one direction of a connection: fed the bytes as they arrive, split
 * anywhere, it finds each message's head and the end of its body (Content-Length, chunked with extensions
 * and trailers, or the close), pipelined messages one after the other. Strict about what it follows (CRLF
 * line ends, no obsolete line folding); anything else is `unframeable` and the caller pipes the rest blind.
 */
abstract class Framer<H extends { raw: Buffer }> {
  private state: State = HEAD;
  /** A head's bytes so far, when it spans chunks. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** Body bytes left (LENGTH, CHUNK_DATA), or bytes of a chunk line or trailer section read (their bound). */
  private remaining = 0;
  private lineBytes = 0;
  private sawDigit = false;

  constructor(protected readonly listener: FramerListener<H>) {}

  /** Whether the framer is between messages (or holding only part of the next head): nothing of a message forwarded. */
  get atHead(): boolean {
    return this.state === HEAD;
  }

  /** Whether the framer gave up on the stream. */
  get failed(): boolean {
    return this.state === FAILED;
  }

  /** Reads the next bytes of the stream. */
  push(chunk: Buffer): void {
    let pos = 0;
    // The start of the bytes read since the last hand-over that are to be forwarded, or -1.
    let from = -1;
    const flush = (to: number) => {
      if (from >= 0 && to > from) this.listener.forward(chunk.subarray(from, to));
      from = -1;
    };
    const fail = (reason: string, restFrom: number) => {
      const rest = this.held;
      this.held = [];
      this.heldBytes = 0;
      this.state = FAILED;
      if (from >= 0) restFrom = from;
      if (restFrom < chunk.length) rest.push(chunk.subarray(restFrom));
      this.listener.unframeable(reason, rest);
    };
    const finish = (at: number) => {
      flush(at);
      this.state = HEAD;
      this.listener.end();
    };
    const n = chunk.length;
    while (pos < n) {
      switch (this.state) {
        case HEAD: {
          if (this.heldBytes === 0 && this.skipsEmptyLines) {
            // A recipient ignores empty lines before a request line (RFC 9112 §2.2); they are forwarded.
            const start = pos;
            while (pos < n && (chunk[pos] === CR || chunk[pos] === LF)) pos++;
            if (pos > start && from < 0) from = start;
            if (pos === n) break;
          }
          flush(pos);
          const end = this.headEnd(chunk, pos);
          if (end === BARE_LF) {
            fail("a head line ends without CR", pos);
            return;
          }
          if (end < 0) {
            this.held.push(chunk.subarray(pos));
            this.heldBytes += n - pos;
            if (this.heldBytes > MAX_HEAD_BYTES) fail(`a head longer than ${MAX_HEAD_BYTES} bytes`, n);
            return;
          }
          const raw =
            this.held.length === 0
              ? chunk.subarray(pos, end)
              : Buffer.concat([...this.held, chunk.subarray(pos, end)]);
          this.held = [];
          this.heldBytes = 0;
          if (raw.length > MAX_HEAD_BYTES) {
            this.held = [raw];
            fail(`a head longer than ${MAX_HEAD_BYTES} bytes`, end);
            return;
          }
          const read = this.readHead(raw);
          if (typeof read === "string") {
            this.held = [raw];
            fail(read, end);
            return;
          }
          pos = end;
          this.listener.head(read.head);
          const framing = read.framing;
          if (framing.kind === "none") {
            if (!read.interim) this.listener.end();
          } else if (framing.kind === "length") {
            if (framing.length === 0) this.listener.end();
            else {
              this.state = LENGTH;
              this.remaining = framing.length;
            }
          } else if (framing.kind === "chunked") {
            this.state = CHUNK_SIZE;
            this.startLine();
          } else this.state = UNTIL_CLOSE;
          break;
        }
        case LENGTH:
          if (from < 0) from = pos;
          pos = this.bodyBytes(chunk, pos);
          if (this.remaining === 0) finish(pos);
          break;
        case UNTIL_CLOSE:
          if (from < 0) from = pos;
          this.listener.body(chunk.subarray(pos));
          pos = n;
          break;
        case CHUNK_DATA:
          if (from < 0) from = pos;
          pos = this.bodyBytes(chunk, pos);
          if (this.remaining === 0) this.state = CHUNK_DATA_CR;
          break;
        case FAILED:
          return;
        default: {
          // Chunk lines and trailers, a byte at a time: they are a few bytes each.
          if (from < 0) from = pos;
          const problem = this.chunkByte(chunk[pos] as number);
          pos++;
          if (problem !== undefined) {
            fail(problem, pos - 1);
            return;
          }
          if (this.state === HEAD) finish(pos);
        }
      }
    }
    flush(n);
  }

  /**
   * The stream ended (the peer closed it): a body delimited by the close ends here. Whether the stream ended
   * between messages; false when a message was cut short.
   */
  finish(): boolean {
    if (this.state === UNTIL_CLOSE) {
      this.state = HEAD;
      this.listener.end();
      return true;
    }
    return this.state === HEAD && this.heldBytes === 0;
  }

  /** Gives up on the stream from here (the other direction could not be followed): the bytes held, unsent. */
  abandon(): Buffer[] {
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    this.state = FAILED;
    return held;
  }

  protected abstract readonly skipsEmptyLines: boolean;

  /** A complete head read, with how its body is framed; a string says why it cannot be followed. */
  protected abstract readHead(raw: Buffer): { head: H; framing: BodyFraming; interim: boolean } | string;

  /** Hands on the body bytes due from `pos` (up to `remaining`); where they end. */
  private bodyBytes(chunk: Buffer, pos: number): number {
    const take = Math.min(this.remaining, chunk.length - pos);
    this.listener.body(chunk.subarray(pos, pos + take));
    this.remaining -= take;
    return pos + take;
  }

  private startLine(): void {
    this.remaining = 0;
    this.lineBytes = 0;
    this.sawDigit = false;
  }

  /** One byte of a chunk-size line, the CRLF after a chunk's data, or the trailer section; a problem, or undefined. */
  private chunkByte(b: number): string | undefined {
    if (++this.lineBytes > MAX_CHUNK_LINE_BYTES) return "a chunk line or trailer section too long";
    switch (this.state) {
      case CHUNK_SIZE: {
        const digit = hexDigit(b);
        if (digit >= 0) {
          if (this.remaining > 0xfffffffffff) return "a chunk size too large";
          this.remaining = this.remaining * 16 + digit;
          this.sawDigit = true;
          return undefined;
        }
        if (!this.sawDigit) return "a chunk size without digits";
        if (b === CR) this.state = CHUNK_SIZE_LF;
        else if (b === 0x3b || b === 0x20 || b === 0x09)
          this.state = CHUNK_EXTENSION; // ";", or BWS before it
        else return "a malformed chunk size";
        return undefined;
      }
      case CHUNK_EXTENSION:
        if (b === CR) this.state = CHUNK_SIZE_LF;
        else if (b === LF) return "a chunk line ends without CR";
        return undefined;
      case CHUNK_SIZE_LF:
        if (b !== LF) return "a chunk line ends without LF";
        if (this.remaining === 0) {
          this.state = TRAILER_LINE_START;
          this.lineBytes = 0;
        } else this.state = CHUNK_DATA;
        return undefined;
      case CHUNK_DATA_CR:
        if (b !== CR) return "a chunk's data is not followed by CRLF";
        this.state = CHUNK_DATA_LF;
        return undefined;
      case CHUNK_DATA_LF:
        if (b !== LF) return "a chunk's data is not followed by CRLF";
        this.state = CHUNK_SIZE;
        this.startLine();
        return undefined;
      case TRAILER_LINE_START:
        this.state = b === CR ? TRAILER_END_LF : TRAILER_LINE;
        if (b === LF) return "a trailer line ends without CR";
        return undefined;
      case TRAILER_LINE:
        if (b === CR) this.state = TRAILER_LINE_LF;
        else if (b === LF) return "a trailer line ends without CR";
        return undefined;
      case TRAILER_LINE_LF:
        if (b !== LF) return "a trailer line ends without LF";
        this.state = TRAILER_LINE_START;
        return undefined;
      case TRAILER_END_LF:
        if (b !== LF) return "the trailer section ends without LF";
        this.state = HEAD;
        return undefined;
      default:
        throw new Error(`chunkByte in state ${this.state}`);
    }
  }

  /**
   * Where the head that starts at `pos` (after what is held) ends: the index in `chunk` just past its blank
   * line, -1 when not in this chunk, BARE_LF when a line ends in LF alone (which the framer does not follow).
   */
  private headEnd(chunk: Buffer, pos: number): number {
    if (this.heldBytes > 0) {
      // The blank line may straddle the chunks: the held tail and this chunk's start.
      const tail = tailBytes(this.held, 3);
      const joint = Buffer.concat([tail, chunk.subarray(pos, pos + 3)]);
      const at = joint.indexOf(CRLFCRLF);
      const lf = joint.indexOf(LFLF);
      if (lf >= 0 && (at < 0 || lf < at) && lf < tail.length) return BARE_LF;
      if (at >= 0 && at < tail.length) return pos + at + 4 - tail.length;
    }
    const at = chunk.indexOf(CRLFCRLF, pos);
    if (at >= 0) return at + 4; // a bare LF before it is the head reader's to refuse
    // Without its blank line yet: a head whose lines end in LF alone would be waited for forever.
    return chunk.indexOf(LFLF, pos) >= 0 ? BARE_LF : -1;
  }
}

const BARE_LF = -2;
const CRLFCRLF = Buffer.from("\r\n\r\n");
const LFLF = Buffer.from("\n\n");

/** The last `n` bytes of a list of buffers. */
function tailBytes(parts: Buffer[], n: number): Buffer {
  const out: Buffer[] = [];
  let need = n;
  for (let i = parts.length - 1; i >= 0 && need > 0; i--) {
    const p = parts[i] as Buffer;
    out.unshift(p.subarray(Math.max(0, p.length - need)));
    need -= Math.min(need, p.length);
  }
  return Buffer.concat(out);
}

function hexDigit(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x61 + 10;
  if (b >= 0x41 && b <= 0x46) return b - 0x41 + 10;
  return -1;
}

/** The requests a client sends: their heads (an upgrade or CONNECT is not followed) and bodies. */
export class RequestFramer extends Framer<RequestHead> {
  protected readonly skipsEmptyLines = true;

  protected readHead(raw: Buffer): { head: RequestHead; framing: BodyFraming; interim: boolean } | string {
    const head = parseRequestHead(raw);
    if (typeof head === "string") return head;
    if (head.method === "CONNECT") return "a CONNECT tunnel";
    if (head.fields.get("upgrade") !== undefined) return "a protocol upgrade";
    const framing = requestBody(head.fields);
    return typeof framing === "string" ? framing : { head, framing, interim: false };
  }
}

/**
 * The answers a server sends, matched in order to the requests told by `expect`: no body after a HEAD
 * request, a 1xx (interim, the request still unanswered), 204 or 304; a switch of protocols is not followed.
 */
export class ResponseFramer extends Framer<ResponseHead> {
  protected readonly skipsEmptyLines = false;
  /** For each request sent and not yet answered, oldest first: whether it was a HEAD request. */
  private readonly heads: boolean[] = [];

  /** A request was sent: its answer comes after those of the requests before it. */
  expect(headRequest: boolean): void {
    this.heads.push(headRequest);
  }

  /** Requests sent and not yet answered. */
  get awaiting(): number {
    return this.heads.length;
  }

  protected readHead(raw: Buffer): { head: ResponseHead; framing: BodyFraming; interim: boolean } | string {
    const head = parseResponseHead(raw);
    if (typeof head === "string") return head;
    if (this.heads.length === 0) return "an answer to no request";
    if (head.status === 101) return "a switch of protocols";
    if (head.interim) return { head, framing: NO_BODY, interim: true };
    const headRequest = this.heads.shift() as boolean;
    if (headRequest || head.status === 204 || head.status === 304)
      return { head, framing: NO_BODY, interim: false };
    const framing = responseBody(head.fields);
    return typeof framing === "string" ? framing : { head, framing, interim: false };
  }
}
