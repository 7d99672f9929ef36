/** A request's head: its request line read, its fields found on demand. */
export interface RequestHead {
  /** The head's bytes, from the request line to the blank line that ends it. */
  raw: Buffer;
  fields: HeadFields;
  method: string;
  target: string;
  version: "1.0" | "1.1";
}

/** An answer's head. */
export interface ResponseHead {
  /** The head's bytes, from the status line to the blank line that ends it. */
  raw: Buffer;
  fields: HeadFields;
  status: number;
  /** A 1xx answer, before the final one. */
  interim: boolean;
  version: "1.0" | "1.1";
}

/**
 * Whether the connection persists after this message (RFC 9112 §9.3): not when its Connection field
 * names `close`; in HTTP/1.0 only when it names `keep-alive`.
 */
export function persists(head: RequestHead | ResponseHead): boolean {
  const connection = head.fields.all("connection");
  if (connection === undefined) return head.version === "1.1";
  if (CLOSE.test(connection)) return false;
  return head.version === "1.1" || KEEP_ALIVE.test(connection);
}

// A connection option in a Connection field's comma-separated list.
const CLOSE = /(?:^|,)[ \t]*close[ \t]*(?:,|$)/i;
const KEEP_ALIVE = /(?:^|,)[ \t]*keep-alive[ \t]*(?:,|$)/i;

/**
 * A head's field lines, kept as offsets into its text (read as latin1, so a character is a byte and an
 * offset into the text is one into the head's bytes). Names are matched case-insensitively.
 */
export class HeadFields {
  constructor(
    private readonly text: string,
    /** For each field line: where its name starts and ends, where its value (without OWS) starts and ends. */
    private readonly offsets: readonly number[],
  ) {}

  /** The first value of the field `name` (lowercase), or undefined. */
  get(name: string): string | undefined {
    const i = this.find(name, 0);
    return i < 0 ? undefined : this.text.slice(this.offsets[i + 2], this.offsets[i + 3]);
  }

  /** The field's values, joined with ", " as one (RFC 9110 §5.3), or undefined when it is absent. */
  all(name: string): string | undefined {
    let out: string | undefined;
    for (let i = this.find(name, 0); i >= 0; i = this.find(name, i + 4)) {
      const v = this.text.slice(this.offsets[i + 2], this.offsets[i + 3]);
      out = out === undefined ? v : `${out}, ${v}`;
    }
    return out;
  }

  /** Where the first value of the field `name` lies in the head's bytes: [start, end), or undefined. */
  range(name: string): [number, number] | undefined {
    const i = this.find(name, 0);
    return i < 0 ? undefined : [this.offsets[i + 2] as number, this.offsets[i + 3] as number];
  }

  private find(name: string, from: number): number {
    const o = this.offsets;
    for (let i = from; i < o.length; i += 4)
      if (
        (o[i + 1] as number) - (o[i] as number) === name.length &&
        sameName(this.text, o[i] as number, name)
      )
        return i;
    return -1;
  }
}

/** Whether the text at `start` spells `lower` (lowercase letters, digits, "-"), ignoring case. */
function sameName(text: string, start: number, lower: string): boolean {
  for (let j = 0; j < lower.length; j++) {
    const c = text.charCodeAt(start + j);
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== lower.charCodeAt(j)) return false;
  }
  return true;
}

// RFC 9112 §3 and §4: method SP request-target SP HTTP-version; HTTP-version SP 3DIGIT SP [reason-phrase].
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([^ ]+) HTTP\/(1\.[01])$/;
const STATUS_LINE = /^HTTP\/(1\.[01]) ([1-9]\d\d)(?: .*)?$/;
/** A field name and its colon, at a position (sticky). */
const FIELD_NAME = /[!#$%&'*+.^_`|~0-9A-Za-z-]+:/y;

/** A request head (ending in its blank line) read, or why it cannot be followed. */
export function parseRequestHead(raw: Buffer): RequestHead | string {
  const head = readHead(raw, REQUEST_LINE, "request line");
  if (typeof head === "string") return head;
  const { line, fields } = head;
  return {
    raw,
    fields,
    method: line[1] as string,
    target: line[2] as string,
    version: line[3] as RequestHead["version"],
  };
}

/** An answer's head (ending in its blank line) read, or why it cannot be followed. */
export function parseResponseHead(raw: Buffer): ResponseHead | string {
  const head = readHead(raw, STATUS_LINE, "status line");
  if (typeof head === "string") return head;
  const { line, fields } = head;
  const status = Number(line[2]);
  return { raw, fields, status, interim: status < 200, version: line[1] as ResponseHead["version"] };
}

/** A head's start line matched by `pattern`, and its fields; or why it cannot be followed. */
function readHead(
  raw: Buffer,
  pattern: RegExp,
  what: string,
): { line: RegExpExecArray; fields: HeadFields } | string {
  const text = raw.toString("latin1");
  const lineEnd = text.indexOf("\r\n");
  const line = pattern.exec(text.slice(0, lineEnd));
  if (!line) return `a ${what} that is not HTTP/1.x: ${JSON.stringify(text.slice(0, Math.min(lineEnd, 80)))}`;
  const fields = readFields(text, lineEnd + 2);
  return typeof fields === "string" ? fields : { line, fields };
}

/** The field lines from `pos` to the blank line; strict: CRLF line ends, no obsolete folding, no space before ":". */
function readFields(text: string, pos: number): HeadFields | string {
  if (!endsInCrlf(text, 0, pos - 2)) return "a head line that does not end in CRLF";
  const offsets: number[] = [];
  for (;;) {
    const end = text.indexOf("\r\n", pos);
    if (end === pos) return new HeadFields(text, offsets);
    if (!endsInCrlf(text, pos, end)) return "a head line that does not end in CRLF";
    const first = text.charCodeAt(pos);
    if (first === 0x20 || first === 0x09) return "an obsolete folded field line";
    FIELD_NAME.lastIndex = pos;
    if (!FIELD_NAME.test(text) || FIELD_NAME.lastIndex > end)
      return `a malformed field line ${JSON.stringify(text.slice(pos, Math.min(end, pos + 80)))}`;
    const colon = FIELD_NAME.lastIndex - 1;
    let start = colon + 1;
    let stop = end;
    while (start < stop && isSpace(text.charCodeAt(start))) start++;
    while (stop > start && isSpace(text.charCodeAt(stop - 1))) stop--;
    offsets.push(pos, colon, start, stop);
    pos = end + 2;
  }
}

/** Whether the line from `start` to the CRLF at `end` holds no other CR or LF (a bare one ends a line for some readers). */
function endsInCrlf(text: string, start: number, end: number): boolean {
  return text.indexOf("\r", start) === end && text.indexOf("\n", start) === end + 1;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}
