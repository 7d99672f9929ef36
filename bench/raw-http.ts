/**
 * A lean HTTP/1.1 client and model-server stand-in over raw TCP, for bench:tap. On the 2-core development
 * machine node:http's client and server cost the load process ~250 µs a call (measured), more than a core at
 * the rates the tap is measured at, and what they take is taken from the proxy being measured. These keep
 * to what the bench needs: one fixed request, a Content-Length answer, keep-alive connections.
 */
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";

const HEAD_END = Buffer.from("\r\n\r\n");

/** Where a head ends and its Content-Length (0 when absent), or undefined while the head is incomplete. */
function framing(data: Buffer): { bodyAt: number; length: number } | undefined {
  const end = data.indexOf(HEAD_END);
  if (end < 0) return undefined;
  const head = data.toString("latin1", 0, end);
  const match = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  return { bodyAt: end + 4, length: match ? Number(match[1]) : 0 };
}

/**
 * Answers every request with `answer` (a JSON body, 200, Content-Length, keep-alive) once the request has
 * fully arrived; pipelined requests are answered in order. Closes a connection idle for `idleMs`, as model
 * servers do (Node's and uvicorn's keep-alive timeout is 5 s).
 */
export async function startRawUpstream(
  answer: string,
  idleMs = 5_000,
): Promise<{ port: number; server: Server }> {
  const body = Buffer.from(answer);
  const response = Buffer.concat([
    Buffer.from(
      `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: keep-alive\r\n\r\n`,
    ),
    body,
  ]);
  const server = createServer({ noDelay: true }, (socket) => {
    let pending: Buffer = Buffer.alloc(0);
    socket.setTimeout(idleMs, () => socket.destroy());
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let answers = 0;
      for (;;) {
        const f = framing(pending);
        if (!f || pending.length < f.bodyAt + f.length) break;
        pending = pending.subarray(f.bodyAt + f.length);
        answers++;
      }
      if (answers === 1) socket.write(response);
      else if (answers > 1) socket.write(Buffer.concat(Array.from({ length: answers }, () => response)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, server };
}

/** One keep-alive connection: a request at a time, like an HTTP/1.1 client's pooled connection. */
class Connection {
  private pending: Buffer = Buffer.alloc(0);
  private started = 0;
  private done: ((ms: number, status: number) => void) | undefined;
  closed = false;

  constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => this.read(chunk));
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      this.done?.(performance.now() - this.started, 0);
      this.done = undefined;
    });
  }

  send(request: Buffer, done: (ms: number, status: number) => void): void {
    this.started = performance.now();
    this.done = done;
    this.socket.write(request);
  }

  private read(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const f = framing(this.pending);
    if (!f || this.pending.length < f.bodyAt + f.length) return;
    const status = Number(this.pending.toString("latin1", 9, 12));
    this.pending = this.pending.subarray(f.bodyAt + f.length);
    const done = this.done;
    this.done = undefined;
    done?.(performance.now() - this.started, status);
  }
}

/**
 * Keep-alive connections to one port, reused most-recently-freed first (as node:http's Agent does); a call
 * with none free opens another. A call's latency runs from the request's write to its answer's last byte.
 */
export class RawClient {
  private readonly free: Connection[] = [];
  opened = 0;

  constructor(
    private readonly port: number,
    private readonly request: Buffer,
  ) {}

  /**
   * Resolves with the call's latency in ms; rejects on a status other than 200 or a dropped connection. A
   * reused connection the server closed as the request went out is retried once on a new one, as HTTP
   * clients retry an idempotent request then.
   */
  call(retry = true): Promise<number> {
    return new Promise((resolve, reject) => {
      let connection = this.free.pop();
      while (connection?.closed) connection = this.free.pop();
      const reused = connection !== undefined;
      if (!connection) {
        connection = new Connection(connect({ host: "127.0.0.1", port: this.port, noDelay: true }));
        this.opened++;
      }
      const c = connection;
      c.send(this.request, (ms, status) => {
        if (status === 0 && reused && retry) resolve(this.call(false));
        else if (status !== 200)
          reject(new Error(status === 0 ? "the connection dropped" : `status ${status}`));
        else {
          this.free.push(c);
          resolve(ms);
        }
      });
    });
  }

  close(): void {
    for (const c of this.free) c.socket.destroy();
    this.free.length = 0;
  }
}
