import { describe, expect, it } from "vitest";
import {
  type FramerListener,
  MAX_HEAD_BYTES,
  RequestFramer,
  ResponseFramer,
} from "../../collector/tap/http-framing.js";
import {
  parseResponseHead,
  persists,
  type RequestHead,
  type ResponseHead,
} from "../../collector/tap/http-head.js";

/** What a framer told, with each body's content joined (however the stream was split). */
interface Transcript {
  events: string[];
  /** The bytes handed over (heads and forwarded bytes, then the rest when unframeable), in order. */
  handed: Buffer;
  /** How many bytes had been handed over at each message's end. */
  endsAt: number[];
}

type Head = RequestHead | ResponseHead;

function run(
  kind: "request" | "response",
  chunks: Buffer[],
  options: { expect?: boolean[]; close?: boolean } = {},
): Transcript {
  const events: string[] = [];
  const handed: Buffer[] = [];
  const endsAt: number[] = [];
  let size = 0;
  let body: Buffer[] = [];
  const hand = (b: Buffer) => {
    handed.push(b);
    size += b.length;
  };
  const flushBody = () => {
    if (body.length > 0) events.push(`body ${Buffer.concat(body).toString("latin1")}`);
    body = [];
  };
  const listener: FramerListener<Head> = {
    head(head) {
      flushBody();
      hand(head.raw);
      events.push(
        "method" in head
          ? `${head.method} ${head.target} host=${head.fields.get("host")}`
          : `${head.status}${head.interim ? " interim" : ""}`,
      );
    },
    forward: hand,
    body: (data) => body.push(data),
    end() {
      flushBody();
      events.push("end");
      endsAt.push(size);
    },
    unframeable(reason, rest) {
      flushBody();
      for (const b of rest) hand(b);
      events.push(`unframeable: ${reason}`);
    },
  };
  const framer =
    kind === "request"
      ? new RequestFramer(listener as FramerListener<RequestHead>)
      : new ResponseFramer(listener as FramerListener<ResponseHead>);
  if (framer instanceof ResponseFramer) for (const h of options.expect ?? []) framer.expect(h);
  // Once the framer gives up, what follows is piped blind (as the proxy does).
  for (const c of chunks) framer.failed ? hand(c) : framer.push(c);
  if (options.close && !framer.failed) {
    const clean = framer.finish();
    flushBody();
    events.push(clean ? "closed" : "closed mid-message");
  }
  flushBody();
  return { events, handed: Buffer.concat(handed), endsAt };
}

/** Every way of cutting the stream in two, and byte by byte: each must tell the same as the whole. */
function splits(stream: Buffer): Buffer[][] {
  const out: Buffer[][] = [];
  for (let i = 1; i < stream.length; i++) out.push([stream.subarray(0, i), stream.subarray(i)]);
  out.push(Array.from(stream, (_, i) => stream.subarray(i, i + 1)));
  return out;
}

/** Frames the stream whole and split every way; checks they agree and that every byte is handed on once, in order. */
function frameEveryWay(
  kind: "request" | "response",
  messages: string[],
  options: { expect?: boolean[]; close?: boolean } = {},
): Transcript {
  const stream = Buffer.from(messages.join(""), "latin1");
  const whole = run(kind, [stream], options);
  expect(whole.handed.equals(stream)).toBe(true);
  for (const chunks of splits(stream)) {
    const split = run(kind, chunks, options);
    expect({ cut: chunks[0]?.length, ...split, handed: split.handed.toString("latin1") }).toEqual({
      cut: chunks[0]?.length,
      ...whole,
      handed: stream.toString("latin1"),
    });
  }
  return whole;
}

/** Where each message ends in the joined stream. */
const boundaries = (messages: string[]) => messages.map((_, i) => messages.slice(0, i + 1).join("").length);

describe("the request framer", () => {
  it("reads pipelined keep-alive requests: a Content-Length body, none, Content-Length 0", () => {
    const messages = [
      'POST /v1/models/m:predict HTTP/1.1\r\nHost: tap:8080\r\nContent-Length: 22\r\n\r\n{"instances":[1,2,5]}\n',
      "GET /v1/models/m HTTP/1.1\r\nhost: tap:8080\r\n\r\n",
      "POST /ping HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
      "HEAD /x HTTP/1.0\r\n\r\n",
    ];
    const t = frameEveryWay("request", messages);
    expect(t.events).toEqual([
      "POST /v1/models/m:predict host=tap:8080",
      'body {"instances":[1,2,5]}\n',
      "end",
      "GET /v1/models/m host=tap:8080",
      "end",
      "POST /ping host=a",
      "end",
      "HEAD /x host=undefined",
      "end",
    ]);
    expect(t.endsAt).toEqual(boundaries(messages));
  });

  it("reads a chunked body with extensions and trailers, CRLFs inside the data included", () => {
    const messages = [
      "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
        '4;name=value\r\nWiki\r\n5 ; a="q;x"\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n' +
        "0;last\r\nExpires: never\r\nX-T: 1\r\n\r\n",
      "POST /d HTTP/1.1\r\nHost: x\r\ntransfer-encoding: gzip, CHUNKED\r\n\r\na\r\n0123456789\r\n0\r\n\r\n",
    ];
    const t = frameEveryWay("request", messages);
    expect(t.events).toEqual([
      "POST /c host=x",
      "body Wikipedia in\r\n\r\nchunks.",
      "end",
      "POST /d host=x",
      "body 0123456789",
      "end",
    ]);
    expect(t.endsAt).toEqual(boundaries(messages));
  });

  it("matches field names in any case and finds a field's value in the head's bytes", () => {
    let head: RequestHead | undefined;
    const framer = new RequestFramer({
      head: (h) => {
        head = h;
      },
      forward: () => {},
      body: () => {},
      end: () => {},
      unframeable: (reason) => {
        throw new Error(reason);
      },
    });
    framer.push(
      Buffer.from(
        "POST /x HTTP/1.1\r\nHOST:  model:8501 \r\ncontent-LENGTH: 1\r\nX-Request-Id: r-1\r\n\r\nz",
      ),
    );
    const h = head as RequestHead;
    expect([h.fields.get("host"), h.fields.get("x-request-id"), h.fields.get("content-length")]).toEqual([
      "model:8501",
      "r-1",
      "1",
    ]);
    const [start, end] = h.fields.range("host") ?? [0, 0];
    expect(h.raw.subarray(start, end).toString()).toBe("model:8501");
    expect(h.fields.get("hos")).toBeUndefined();
    expect(framer.atHead).toBe(true);
  });

  it("forwards the empty lines a client sends before a request line", () => {
    const t = frameEveryWay("request", ["\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"]);
    expect(t.events).toEqual(["GET / host=a", "end"]);
  });

  it.each([
    [
      "an upgrade",
      "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello",
    ],
    ["CONNECT", "CONNECT model:443 HTTP/1.1\r\nHost: model:443\r\n\r\n\x16\x03\x01"],
    [
      "both lengths",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ],
    ["a coding other than chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nxyz"],
    ["conflicting lengths", "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"],
    ["a malformed length", "POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc"],
    ["lines ending in LF alone", "GET / HTTP/1.1\nHost: a\n\n"],
    ["a bare CR", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n"],
    ["obsolete line folding", "GET / HTTP/1.1\r\nX-A: 1\r\n 2\r\n\r\n"],
    ["space before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n"],
    ["HTTP/2's preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"],
    ["a chunk size that is not hex", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
    [
      "chunk data without its CRLF",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
    ],
  ])("gives up on %s, handing every byte on", (_name, text) => {
    const first = "POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok";
    const t = frameEveryWay("request", [first, text]);
    expect(t.events.slice(0, 3)).toEqual(["POST /ok host=a", "body ok", "end"]);
    expect(t.events.at(-1)).toMatch(/^unframeable: /);
  });

  it("gives up on a head longer than its bound, before it is whole", () => {
    const big = Buffer.from(`GET / HTTP/1.1\r\nX-Big: ${"a".repeat(MAX_HEAD_BYTES)}`);
    const chunks = [big.subarray(0, 40_000), big.subarray(40_000)];
    const t = run("request", chunks);
    expect(t.events).toEqual([`unframeable: a head longer than ${MAX_HEAD_BYTES} bytes`]);
    expect(t.handed.equals(big)).toBe(true);
  });
});

describe("the response framer", () => {
  it("matches answers to requests in order: no body after HEAD, 1xx, 204 and 304", () => {
    const messages = [
      "HTTP/1.1 100 Continue\r\n\r\n",
      'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 20\r\n\r\n{"predictions":[1]}\n',
      "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", // to HEAD
      "HTTP/1.1 204 No Content\r\n\r\n",
      "HTTP/1.1 304 Not Modified\r\nContent-Length: 12\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n",
      "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    ];
    const t = frameEveryWay("response", messages, { expect: [false, true, false, false, false, false] });
    expect(t.events).toEqual([
      "100 interim",
      "200",
      'body {"predictions":[1]}\n',
      "end",
      "200",
      "end",
      "204",
      "end",
      "304",
      "end",
      "200",
      "body abc",
      "end",
      "404",
      "end",
    ]);
    expect(t.endsAt).toEqual(boundaries(messages).slice(1));
  });

  it("reads a body without a length until the close, and tells an answer cut short", () => {
    const messages = [
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
      "HTTP/1.0 200 OK\r\nX: y\r\n\r\nall of it",
    ];
    const t = frameEveryWay("response", messages, { expect: [false, false], close: true });
    expect(t.events).toEqual(["200", "body ok", "end", "200", "body all of it", "end", "closed"]);
    const cut = run("response", [Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc")], {
      expect: [false],
      close: true,
    });
    expect(cut.events).toEqual(["200", "body abc", "closed mid-message"]);
  });

  it.each([
    ["a switch of protocols", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi", 2],
    ["an answer to no request", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno", 1],
    ["a malformed status line", "HTTP/1.1 2000 OK\r\n\r\n", 2],
    ["a malformed length", "HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n", 2],
  ])("gives up on %s, handing every byte on", (_name, text, requests) => {
    const first = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    const t = frameEveryWay("response", [first, text], { expect: Array(requests).fill(false) });
    expect(t.events.slice(0, 3)).toEqual(["200", "body ok", "end"]);
    expect(t.events.at(-1)).toMatch(/^unframeable: /);
  });
});

describe("whether a connection persists after a message (RFC 9112 §9.3)", () => {
  it.each([
    ["HTTP/1.1", "", true],
    ["HTTP/1.1", "Connection: keep-alive\r\n", true],
    ["HTTP/1.1", "Connection: Close\r\n", false],
    ["HTTP/1.1", "Connection: Upgrade, close\r\n", false],
    ["HTTP/1.1", "Connection: x-closed\r\n", true], // an option merely containing the word
    ["HTTP/1.0", "", false],
    ["HTTP/1.0", "Connection: Keep-Alive\r\n", true],
    ["HTTP/1.0", "Connection: te\r\nConnection: keep-alive\r\n", true],
    ["HTTP/1.0", "Connection: keep-alive, close\r\n", false],
  ])("%s with %j: %s", (version, fields, expected) => {
    const head = parseResponseHead(Buffer.from(`${version} 200 OK\r\n${fields}\r\n`));
    expect(typeof head === "string" ? head : persists(head)).toBe(expected);
  });
});
