/**
 * The tap proxy's connections over real loopback, on its own (what it records is what it hands to `record`;
 * tap.test.ts follows it into the store): pipelining, Host, the ids header, bodyless answers, an upstream
 * that cannot be reached or drops, idle upstream connections, upgrades piped blind, closing.
 */
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from "node:http";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { readCall } from "../../collector/inference/captured-call.js";
import { type RunningTap, startTap, type TapOutcome } from "../../collector/tap/proxy.js";
import { EventObjects } from "../helpers/event-objects.js";

type Handler = (req: { method: string; url: string; headers: IncomingHttpHeaders; body: string }) => {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  delayMs?: number;
};

let handler: Handler = () => ({ status: 200, body: "" });
const seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: string }> = [];
let upstream: Server;
let upstreamPort: number;
let tap: RunningTap;
const recorded: Array<Record<string, unknown>> = [];
const outcomes: TapOutcome[] = [];

async function listen(server: Server | ReturnType<typeof createServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

function startTapBefore(port: number): Promise<RunningTap> {
  return startTap({
    upstream: new URL(`http://127.0.0.1:${port}`),
    host: "127.0.0.1",
    port: 0,
    maxRecordBytes: 1 << 20,
    // Read at once here, as ingest's decode threads read what the service's tap hands over.
    record: (call) => {
      const sink = new EventObjects();
      outcomes.push(readCall(call, {}, sink).outcome);
      recorded.push(...sink.events);
    },
    count: (outcome) => outcomes.push(outcome),
  });
}

beforeAll(async () => {
  upstream = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      seen.push(r);
      const a = handler(r);
      setTimeout(() => {
        res.sendDate = false;
        const length =
          a.status === 204 || a.status === 304
            ? {}
            : { "content-length": String(Buffer.byteLength(a.body ?? "")) };
        res.writeHead(a.status, { ...length, ...a.headers });
        res.end(req.method === "HEAD" ? undefined : a.body);
      }, a.delayMs ?? 0);
    });
  });
  upstreamPort = await listen(upstream);
  tap = await startTapBefore(upstreamPort);
});
afterAll(async () => {
  await tap?.close();
  upstream?.closeAllConnections();
  await new Promise((r) => upstream?.close(r));
});
afterEach(() => {
  seen.length = 0;
  recorded.length = 0;
  outcomes.length = 0;
  handler = () => ({ status: 200, body: "" });
});

/** A raw client connection to `port`: what it sends, and what it has received so far. */
async function rawClient(
  port: number,
): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const socket = connect({ host: "127.0.0.1", port, noDelay: true });
  await new Promise((r) => socket.once("connect", r));
  let text = "";
  socket.on("data", (d: Buffer) => {
    text += d.toString("latin1");
  });
  socket.on("error", () => {});
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  return { socket, received: () => text, closed };
}

async function until(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const predict = (body: string, extra = "") =>
  `POST /v1/models/half:predict HTTP/1.1\r\nHost: tap.example:8080\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

const halfPlusTwo: Handler = (r) =>
  r.url === "/v1/models/half:predict"
    ? {
        status: 200,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          predictions: (JSON.parse(r.body).instances as number[]).map((x) => x / 2 + 2),
        }),
      }
    : { status: 200, headers: { "content-type": "text/plain" }, body: "Healthy" };

describe("the tap proxy's connections", () => {
  it("answers pipelined requests in order, naming the upstream as Host and the ids on recorded answers", async () => {
    handler = halfPlusTwo;
    const client = await rawClient(tap.port);
    const chunked = '{"instances":[4]}';
    client.socket.write(
      predict('{"instances":[1,2]}', "X-Request-Id: r-1\r\n") +
        "GET /ping HTTP/1.1\r\nHost: tap.example:8080\r\n\r\n" +
        "POST /v1/models/half:predict HTTP/1.1\r\nHost: tap.example:8080\r\nTransfer-Encoding: chunked\r\nX-Request-Id: r-2\r\n\r\n" +
        `${chunked.length.toString(16)};ext=1\r\n${chunked}\r\n0\r\nX-Trailer: t\r\n\r\n`,
    );
    await until(
      "three answers",
      () => (client.received().match(/HTTP\/1\.1 /g) ?? []).length === 3 && client.received().endsWith("}"),
    );
    const answers = client.received().split(/(?=HTTP\/1\.1 )/);
    expect(answers).toHaveLength(3);
    expect(answers[0]).toMatch(
      /\r\nx-modelwatch-prediction-ids: r-1-0,r-1-1\r\n\r\n\{"predictions":\[2\.5,3\]\}$/,
    );
    expect(answers[1]).not.toMatch(/x-modelwatch-prediction-ids/i);
    expect(answers[1]).toMatch(/\r\n\r\nHealthy$/);
    expect(answers[2]).toMatch(/\r\nx-modelwatch-prediction-ids: r-2\r\n\r\n\{"predictions":\[4\]\}$/);
    expect(seen.map((s) => [s.method, s.url, s.headers.host, s.body])).toEqual([
      ["POST", "/v1/models/half:predict", `127.0.0.1:${upstreamPort}`, '{"instances":[1,2]}'],
      ["GET", "/ping", `127.0.0.1:${upstreamPort}`, ""],
      ["POST", "/v1/models/half:predict", `127.0.0.1:${upstreamPort}`, chunked],
    ]);
    expect(seen[2]?.headers["transfer-encoding"]).toBe("chunked"); // forwarded as it came, not re-framed
    await until("the recordings", () => recorded.length === 3);
    expect(recorded.map((e) => [e["ml.prediction.id"], e["ml.features"], e["ml.prediction.value"]])).toEqual([
      ["r-1-0", { feature_0: 1 }, 2.5],
      ["r-1-1", { feature_0: 2 }, 3],
      ["r-2", { feature_0: 4 }, 4],
    ]);
    expect(outcomes).toEqual(["recorded", "recorded"]);
    client.socket.destroy();
  });

  it("gives a request without Host the upstream's, and passes HEAD, 204 and 304 answers without bodies", async () => {
    handler = (r) =>
      r.url === "/none"
        ? { status: 204 }
        : r.url === "/same"
          ? { status: 304, headers: { etag: '"a"', "content-length": "12" } }
          : halfPlusTwo(r);
    const client = await rawClient(tap.port);
    client.socket.write(
      "HEAD /ping HTTP/1.1\r\n\r\nDELETE /none HTTP/1.1\r\nHost: a\r\n\r\nGET /same HTTP/1.1\r\nHost: a\r\n\r\n" +
        predict('{"instances":[8]}', "X-Request-Id: after\r\n"),
    );
    await until("four answers", () => client.received().endsWith("}"));
    const answers = client.received().split(/(?=HTTP\/1\.1 )/);
    expect(answers.map((a) => a.split("\r\n")[0])).toEqual([
      "HTTP/1.1 200 OK",
      "HTTP/1.1 204 No Content",
      "HTTP/1.1 304 Not Modified",
      "HTTP/1.1 200 OK",
    ]);
    expect(answers[0]).toMatch(/\r\ncontent-length: 7\r\n/i); // the length a GET would have had, no body
    // Each bodyless answer was framed as such: the ids go into the last answer's head, not into a "body".
    expect(answers[3]).toMatch(/\r\nx-modelwatch-prediction-ids: after\r\n\r\n\{"predictions":\[6\]\}$/);
    expect(seen.map((s) => s.headers.host)).toEqual(Array(4).fill(`127.0.0.1:${upstreamPort}`));
    client.socket.destroy();
  });

  it("inserts the ids header into an answer whose head arrives in pieces", async () => {
    const server = createServer((s) => {
      s.once("data", async () => {
        for (const piece of [
          "HTTP/1.1 200 OK\r\nContent-Type: app",
          "lication/json\r\nContent-Length: 20\r",
          "\n\r",
          "\n",
          '{"predictions":[7]}\n',
        ])
          await new Promise((r) => s.write(piece, r)).then(() => new Promise((r) => setTimeout(r, 20)));
      });
    });
    const port = await listen(server);
    const slowTap = await startTapBefore(port);
    try {
      const res = await fetch(`http://127.0.0.1:${slowTap.port}/v1/models/half:predict`, {
        method: "POST",
        body: '{"instances":[10]}',
        headers: { "x-request-id": "split-1" },
      });
      expect([res.headers.get("x-modelwatch-prediction-ids"), res.headers.get("content-type")]).toEqual([
        "split-1",
        "application/json",
      ]);
      expect(await res.text()).toBe('{"predictions":[7]}\n');
    } finally {
      await slowTap.close();
      server.close();
    }
  });

  it("forwards an answer that comes before the request's body is through without the ids header", async () => {
    const server = createServer((s) => {
      s.once("data", () => s.write('HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\n{"predictions":[1]}'));
      s.on("error", () => {});
    });
    const port = await listen(server);
    const earlyTap = await startTapBefore(port);
    try {
      const client = await rawClient(earlyTap.port);
      const body = '{"instances":[1]}';
      client.socket.write(predict(body, "X-Request-Id: early\r\n").slice(0, -body.length));
      await until("the answer", () => client.received().endsWith("}"));
      expect(client.received()).not.toMatch(/x-modelwatch-prediction-ids/i);
      client.socket.write(body);
      client.socket.destroy();
    } finally {
      await earlyTap.close();
      server.close();
    }
  });

  it("answers 502 with the error envelope when the model server cannot be reached", async () => {
    const closed = createServer();
    const port = await listen(closed);
    await new Promise((r) => closed.close(r)); // nothing listens there now
    const deadTap = await startTapBefore(port);
    try {
      const res = await fetch(`http://127.0.0.1:${deadTap.port}/v1/models/half:predict`, {
        method: "POST",
        body: '{"instances":[1]}',
      });
      expect(res.status).toBe(502);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("upstream_unreachable");
      expect(body.error.message).toMatch(/^the model server did not answer: connect ECONNREFUSED/);
      expect(outcomes).toEqual(["upstream_error"]);
    } finally {
      await deadTap.close();
    }
  });

  it("closes the client's connection when the model server drops in the middle of an answer", async () => {
    const server = createServer((s) => {
      s.once("data", () => {
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"predictions":', () => s.destroy());
      });
    });
    const port = await listen(server);
    const dropTap = await startTapBefore(port);
    try {
      const client = await rawClient(dropTap.port);
      client.socket.write(predict('{"instances":[1]}'));
      await client.closed;
      expect(client.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n.*\{"predictions":$/s);
      expect(outcomes).toEqual(["upstream_error"]);
      expect(recorded).toEqual([]);
    } finally {
      await dropTap.close();
      server.close();
    }
  });

  it("keeps the client's connection when the model server closes an idle one, and opens another", async () => {
    handler = halfPlusTwo;
    const client = await rawClient(tap.port);
    client.socket.write("GET /ping HTTP/1.1\r\nHost: a\r\n\r\n");
    await until("the first answer", () => client.received().endsWith("Healthy"));
    upstream.closeIdleConnections(); // as its keep-alive timeout would
    await new Promise((r) => setTimeout(r, 50));
    client.socket.write("GET /ping HTTP/1.1\r\nHost: a\r\n\r\n");
    await until("the second answer", () => (client.received().match(/Healthy/g) ?? []).length === 2);
    expect(client.socket.destroyed).toBe(false);
    client.socket.destroy();
  });

  it("forwards bodies past the recording bound intact both ways, counting them too large", async () => {
    const big = { instances: Array.from({ length: 200_000 }, (_, i) => i) }; // about 1.3 MB, over the 1 MiB bound
    handler = halfPlusTwo;
    const res = await fetch(`http://127.0.0.1:${tap.port}/v1/models/half:predict`, {
      method: "POST",
      body: JSON.stringify(big),
    });
    const answer = (await res.json()) as { predictions: number[] };
    expect(answer.predictions).toHaveLength(200_000);
    expect(answer.predictions[199_999]).toBe(199_999 / 2 + 2);
    expect(res.headers.get("x-modelwatch-prediction-ids")).toBeNull(); // its instances were not counted
    expect(seen[0]?.body).toBe(JSON.stringify(big));
    await until("the outcome", () => outcomes.length === 1);
    expect(outcomes).toEqual(["too_large"]);
    expect(recorded).toEqual([]);
  });

  it("holds the model server back while a slow client catches up, losing nothing", async () => {
    const size = 32 * 1024 * 1024;
    const pattern = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4) pattern.writeUInt32LE(i, i);
    const server = createServer((s) => {
      s.once("data", () => {
        s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`);
        s.write(pattern);
      });
    });
    const port = await listen(server);
    const bigTap = await startTapBefore(port);
    try {
      const client = connect({ host: "127.0.0.1", port: bigTap.port });
      client.on("error", () => {});
      const chunks: Buffer[] = [];
      let received = 0;
      client.on("data", (d: Buffer) => {
        chunks.push(d);
        received += d.length;
      });
      client.pause(); // reads nothing for a while: the tap's buffer to it fills
      client.write("GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
      await new Promise((r) => setTimeout(r, 300));
      client.resume();
      await until("the whole answer", () => received >= size + 40, 20_000);
      const all = Buffer.concat(chunks);
      const body = all.subarray(all.indexOf("\r\n\r\n") + 4);
      expect(body.length).toBe(size);
      expect(body.equals(pattern)).toBe(true);
      client.destroy();
    } finally {
      await bigTap.close();
      server.close();
    }
  });

  it("ends the client's connection after an answer that ends it: Connection: close, HTTP/1.0", async () => {
    handler = halfPlusTwo;
    for (const request of [
      "GET /ping HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
      "GET /ping HTTP/1.0\r\n\r\n",
    ]) {
      const client = await rawClient(tap.port);
      client.socket.write(request);
      await client.closed;
      expect(client.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n.*\r\n\r\nHealthy$/s);
    }
    // A keep-alive HTTP/1.0 client keeps its connection.
    const client = await rawClient(tap.port);
    client.socket.write("GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    await until("the answer", () => client.received().endsWith("Healthy"));
    client.socket.write("GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    await until("the second answer", () => (client.received().match(/Healthy/g) ?? []).length === 2);
    client.socket.destroy();
  });

  it("closes its idle connection to the model server after a second, before the server's keep-alive timeout can race a request", async () => {
    handler = halfPlusTwo;
    const upstreamClosed = new Promise<number>((resolve) =>
      upstream.once("connection", (s: Socket) => s.once("close", () => resolve(Date.now()))),
    );
    const client = await rawClient(tap.port);
    client.socket.write("GET /ping HTTP/1.1\r\nHost: a\r\n\r\n");
    await until("the answer", () => client.received().endsWith("Healthy"));
    const answered = Date.now();
    expect((await upstreamClosed) - answered).toBeGreaterThan(900); // idle a second (give or take a clock tick)
    client.socket.write("GET /ping HTTP/1.1\r\nHost: a\r\n\r\n"); // the client's connection is still there
    await until("the second answer", () => (client.received().match(/Healthy/g) ?? []).length === 2);
    client.socket.destroy();
  });

  it("lends an idle client connection's connection to the model server to another client connection", async () => {
    handler = halfPlusTwo;
    const opened: Socket[] = [];
    const count = (s: Socket) => opened.push(s);
    upstream.on("connection", count);
    try {
      const first = await rawClient(tap.port);
      first.socket.write("GET /ping HTTP/1.1\r\nHost: a\r\n\r\n");
      await until("the first answer", () => first.received().endsWith("Healthy"));
      await new Promise((r) => setTimeout(r, 600)); // the first connection idles: its upstream goes to the pool
      const second = await rawClient(tap.port);
      second.socket.write("GET /ping HTTP/1.1\r\nHost: a\r\n\r\n");
      await until("the second answer", () => second.received().endsWith("Healthy"));
      expect(opened).toHaveLength(1); // the second client connection was lent the first's
      // The first client connection, busy again, opens one of its own: the pooled one is the second's now.
      first.socket.write("GET /ping HTTP/1.1\r\nHost: a\r\n\r\n");
      await until("the third answer", () => (first.received().match(/Healthy/g) ?? []).length === 2);
      expect(opened).toHaveLength(2);
      expect(seen.map((r) => r.url)).toEqual(["/ping", "/ping", "/ping"]);
      first.socket.destroy();
      second.socket.destroy();
    } finally {
      upstream.off("connection", count);
    }
  });

  it("pipes an upgraded connection blind, counted as passed through", async () => {
    const server = createServer((s) => {
      s.once("data", () => {
        s.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n");
        s.on("data", (d) => s.write(d));
      });
    });
    const port = await listen(server);
    const upgradeTap = await startTapBefore(port);
    try {
      const client = await rawClient(upgradeTap.port);
      client.socket.write("GET /echo HTTP/1.1\r\nHost: a\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n");
      await until("the switch", () => client.received().endsWith("\r\n\r\n"));
      client.socket.write("HTTP/1.1 is not spoken here\r\n\r\n");
      await until("the echo", () => client.received().endsWith("not spoken here\r\n\r\n"));
      expect(client.received()).toBe(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nHTTP/1.1 is not spoken here\r\n\r\n",
      );
      expect(outcomes).toEqual(["passed_through"]);
      client.socket.destroy();
    } finally {
      await upgradeTap.close();
      server.close();
    }
  });

  it("lets a call in progress finish when it closes, and closes idle connections at once", async () => {
    const closingTap = await startTapBefore(upstreamPort);
    handler = (r) => ({ ...halfPlusTwo(r), delayMs: r.url === "/v1/models/half:predict" ? 300 : 0 });
    const idle = await rawClient(closingTap.port);
    idle.socket.write("GET /ping HTTP/1.1\r\nHost: a\r\n\r\n");
    await until("the idle connection's answer", () => idle.received().endsWith("Healthy"));
    const busy = await rawClient(closingTap.port);
    busy.socket.write(predict('{"instances":[6]}', "X-Request-Id: late\r\n"));
    await until("the call to reach the model server", () => seen.length === 2);
    const started = Date.now();
    await closingTap.close();
    expect(Date.now() - started).toBeLessThan(4_000); // not the forced cut after 5 s
    expect(busy.received()).toMatch(/x-modelwatch-prediction-ids: late\r\n\r\n\{"predictions":\[5\]\}$/);
    await Promise.all([idle.closed, busy.closed]);
    expect(recorded.map((e) => e["ml.prediction.id"])).toEqual(["late"]);
  });
});
