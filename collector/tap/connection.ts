import type { Socket } from "node:net";
import { TapCall } from "./call.js";
import { RequestFramer, ResponseFramer } from "./http-framing.js";
import { persists, type RequestHead, type ResponseHead } from "./http-head.js";
import type { TapOptions } from "./proxy.js";
import { tapRoute } from "./routes.js";
import type { UpstreamPool } from "./upstream-pool.js";

/** The response header naming the prediction ids recorded for the request's instances, in order. */
export const IDS_HEADER = "x-modelwatch-prediction-ids";

/** What every connection of one tap shares. */
export interface TapUpstream {
  /** The upstream's `Host`, as forwarded requests name it. */
  hostValue: Buffer;
  /** A `Host` field line and the blank line, for a request that has none. */
  hostLine: Buffer;
  /** Connections to it that no client connection holds. */
  pool: UpstreamPool;
}

/** A request forwarded whose answer has not ended. */
interface Exchange {
  /** The call to record, when the request is one. */
  call: TapCall | undefined;
  /** Whether the connection ends after the answer (the request or the answer says so). */
  closes: boolean;
}

/** How long a connection may sit with no call in progress before it is closed (as node:http's keepAliveTimeout did). */
export const IDLE_TIMEOUT_MS = 65_000;
/**
 * How long the connection to the model server may sit idle before the tap closes it (the next request opens
 * another). Shorter than model servers' own keep-alive timeouts (Node and uvicorn 5 s, gunicorn 2 s): were
 * theirs to run out first, a request sent as they close the connection would be lost, answered with a 502.
 */
export const UPSTREAM_IDLE_MS = 1_000;
/** How often the tap looks for idle connections. */
export const SWEEP_INTERVAL_MS = 250;
/** How long a client connection keeps its connection to the model server with no call before it goes to the pool. */
const RELEASE_AFTER_MS = 200;
/** How long a client may keep sending after its connection was answered and ended. */
const LINGER_MS = 5_000;

/**
 * One client connection and its own connection to the model server: bytes are forwarded as they arrive in
 * both directions while a framer reads each alongside, so that requests are matched to answers in order,
 * inference calls are recognised and their bodies collected, and two edits are made: a request's `Host`
 * names the upstream, a recorded call's answer gains the prediction-ids header. What the framers cannot
 * follow is piped blind from there on, unrecorded. The upstream connection opens with the first request;
 * if the model server closes it between calls the next request opens another.
 */
export class TapConnection {
  private upstream: Socket | undefined;
  /** The listeners this connection set on `upstream`, removed when it goes back to the pool. */
  private upstreamListeners:
    | { data: (b: Buffer) => void; error: (e: Error) => void; close: () => void }
    | undefined;
  /** Each request forwarded whose answer has not ended, oldest first. */
  private readonly queue: Exchange[] = [];
  /** The recognised call whose request is arriving. */
  private receiving: TapCall | undefined;
  /** Calls whose request ended in the chunk being read: counted once it is forwarded (fromClient). */
  private readonly received: TapCall[] = [];
  /** Whether bytes of the oldest request's answer were sent to the client. */
  private answering = false;
  private readonly requests: RequestFramer;
  private readonly responses: ResponseFramer;
  /** Bytes to write to either side once the chunk being read is through the framer. */
  private readonly toUpstream: Buffer[] = [];
  private readonly toClient: Buffer[] = [];
  private blind = false;
  /** The client sent its last byte. */
  private clientEnded = false;
  /** The tap is closing: the connection ends once no call is in progress. */
  private closing = false;
  /** The connection was ended on our side; what the client still sends is dropped. */
  private finished = false;
  /** When the last answer ended (or the client connected), in ms since the epoch. */
  private lastAnswerMs = Date.now();

  constructor(
    private readonly client: Socket,
    private readonly upstreamAt: TapUpstream,
    private readonly options: TapOptions,
    onClose: () => void,
  ) {
    this.requests = new RequestFramer({
      head: (head) => this.requestHead(head),
      forward: (bytes) => this.toUpstream.push(bytes),
      body: (data) => this.receiving?.request.add(data),
      end: () => {
        if (this.receiving) this.received.push(this.receiving);
        this.receiving = undefined;
      },
      unframeable: (_reason, rest) => this.goBlind(rest, this.responses.abandon()),
    });
    this.responses = new ResponseFramer({
      head: (head) => this.responseHead(head),
      forward: (bytes) => this.toClient.push(bytes),
      body: (data) => this.queue[0]?.call?.response?.add(data),
      end: () => this.responseEnd(),
      unframeable: (_reason, rest) => this.goBlind(this.requests.abandon(), rest),
    });
    client.on("data", (chunk: Buffer) => this.fromClient(chunk));
    client.on("end", () => this.clientEnd());
    client.on("error", () => {}); // 'close' follows
    client.on("close", () => {
      if (!this.releaseUpstream()) this.upstream?.destroy();
      this.upstream = undefined;
      onClose();
    });
  }

  /**
   * With no call in progress since the last answer: gives the upstream connection back to the pool after
   * `RELEASE_AFTER_MS` (the pool closes it `UPSTREAM_IDLE_MS` after its last call), closes the client's after
   * `IDLE_TIMEOUT_MS`. The tap calls this every `SWEEP_INTERVAL_MS` (a socket timeout would be re-armed on
   * every read and write).
   */
  closeIfIdle(nowMs: number): void {
    if (this.blind || this.finished || !this.idle) return;
    const idleMs = nowMs - this.lastAnswerMs;
    if (idleMs > IDLE_TIMEOUT_MS) this.client.destroy();
    else if (idleMs > RELEASE_AFTER_MS) this.releaseUpstream();
  }

  /**
   * Between calls, gives the upstream connection to the pool (its listeners removed); false when there is
   * none or it is not between calls (then it is this connection's to close).
   */
  private releaseUpstream(): boolean {
    const { upstream, upstreamListeners: listeners } = this;
    if (!upstream || !listeners || this.blind || this.finished || !this.idle || !this.responses.atHead)
      return false;
    upstream.off("data", listeners.data).off("error", listeners.error).off("close", listeners.close);
    this.upstream = undefined;
    this.upstreamListeners = undefined;
    this.upstreamAt.pool.give(upstream, this.lastAnswerMs);
    return true;
  }

  /** The tap is closing: ends the connection now if no call is in progress, else once the last is answered. */
  close(): void {
    this.closing = true;
    if (!this.blind && this.idle) this.end();
  }

  /** Cuts the connection (calls in progress included). */
  destroy(): void {
    this.client.destroy();
  }

  /** No call in progress: no request started, no answer awaited. */
  private get idle(): boolean {
    return this.queue.length === 0 && this.requests.atHead;
  }

  private fromClient(chunk: Buffer): void {
    if (this.finished) return;
    if (this.blind) this.toUpstream.push(chunk);
    else this.requests.push(chunk);
    this.flush();
    // Reading a request for its instances (a JSON parse) waits until the request is on its way upstream:
    // it then overlaps the model server's work instead of adding to it. The answer, which needs the count
    // for its ids header, can only arrive on a later turn.
    for (const call of this.received) call.requestDone();
    this.received.length = 0;
  }

  private fromUpstream(socket: Socket, chunk: Buffer): void {
    if (socket !== this.upstream || this.finished) return;
    if (this.blind) this.toClient.push(chunk);
    else this.responses.push(chunk);
    this.flush();
  }

  private requestHead(head: RequestHead): void {
    const route = tapRoute(head.method, head.target);
    const call = route
      ? new TapCall(route, head.fields.get("x-request-id"), this.options.maxRecordBytes)
      : undefined;
    this.queue.push({ call, closes: !persists(head) });
    this.receiving = call;
    this.responses.expect(head.method === "HEAD");
    // Host names the upstream, as a client calling it directly would have named it.
    const { raw } = head;
    const { hostValue, hostLine } = this.upstreamAt;
    const host = head.fields.range("host");
    if (!host) this.toUpstream.push(raw.subarray(0, raw.length - 2), hostLine);
    else if (hostValue.compare(raw, host[0], host[1]) === 0) this.toUpstream.push(raw);
    else this.toUpstream.push(raw.subarray(0, host[0]), hostValue, raw.subarray(host[1]));
  }

  private responseHead(head: ResponseHead): void {
    this.answering = true;
    const exchange = this.queue[0] as Exchange; // the framer matched the answer to a request
    if (!head.interim && !persists(head)) exchange.closes = true;
    const call = exchange.call;
    if (head.interim || !call) {
      this.toClient.push(head.raw);
      return;
    }
    call.answered(head.status);
    const ids = head.status < 400 ? call.idsHeader() : undefined;
    if (!ids) {
      this.toClient.push(head.raw);
      return;
    }
    // The ids' field line goes before the blank line that ends the head; the head itself is not copied.
    const { raw } = head;
    this.toClient.push(
      raw.subarray(0, raw.length - 2),
      Buffer.from(`${IDS_HEADER}: ${ids}\r\n\r\n`, "latin1"),
    );
  }

  private responseEnd(): void {
    const { call, closes } = this.queue.shift() as Exchange;
    this.answering = false;
    this.lastAnswerMs = Date.now();
    this.flush(); // the answer is on its way before anything is recorded
    if (call) {
      if (!call.response) this.options.count?.("upstream_error");
      else {
        const latencyMs = performance.now() - call.started;
        // After the answer is on its way: the recording costs the client nothing.
        setImmediate(() => call.record(latencyMs, this.options));
      }
    }
    // As the model server will close its side after an answer that said so, the client's side ends too.
    if (closes || ((this.clientEnded || this.closing) && this.idle)) this.end();
  }

  /** From here on both directions are piped as they are; the calls in progress go unrecorded. */
  private goBlind(toUpstream: Buffer[], toClient: Buffer[]): void {
    this.blind = true;
    this.toUpstream.push(...toUpstream);
    this.toClient.push(...toClient);
    this.queue.length = 0;
    this.receiving = undefined;
    this.options.count?.("passed_through");
  }

  private clientEnd(): void {
    this.clientEnded = true;
    if (this.finished) return;
    if (this.blind && this.upstream) this.upstream.end();
    else if (this.blind || this.idle) this.end();
    // A request cut short: the model server is told, and answers (or closes) as it would to the client.
    else if (!this.requests.atHead) this.upstream?.end();
    // Otherwise the answers still due are forwarded, then the connection ends (responseEnd).
  }

  private upstreamClosed(socket: Socket, error: Error | undefined): void {
    if (socket !== this.upstream) return;
    this.upstream = undefined;
    if (this.finished || this.client.destroyed) return;
    if (this.client.isPaused()) this.client.resume(); // it waited for the closed connection to drain
    if (this.blind) {
      if (error) this.client.destroy();
      else this.end();
      return;
    }
    const midAnswer = this.answering;
    const complete = this.responses.finish(); // an answer delimited by the close ends here
    this.flush();
    if (this.finished) return;
    if (midAnswer || !complete) {
      // The answer is complete only when the close delimited it; one cut short is cut short for the client too.
      if (complete) this.end();
      else {
        this.options.count?.("upstream_error");
        this.client.destroy();
      }
    } else if (this.queue.length > 0) {
      this.options.count?.("upstream_error");
      this.answerBadGateway(error);
    } else if (!this.requests.atHead) {
      this.end(); // it answered before the request was through, then closed
    } else if (this.clientEnded || this.closing) {
      this.end();
    }
    // Otherwise the model server closed an idle connection: the next request opens another.
  }

  /** The model server closed (or never opened) the connection without answering the oldest request. */
  private answerBadGateway(error: Error | undefined): void {
    const body = JSON.stringify({
      error: {
        code: "upstream_unreachable",
        message: `the model server did not answer: ${error?.message ?? "it closed the connection"}`,
      },
    });
    this.client.write(
      `HTTP/1.1 502 Bad Gateway\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
    this.end();
  }

  /** Ends both connections; the client may still send for a while (dropped) before it is cut. */
  private end(): void {
    this.finished = true;
    this.upstream?.end();
    this.client.end(() => setTimeout(() => this.client.destroy(), LINGER_MS).unref());
  }

  private flush(): void {
    if (this.toUpstream.length > 0) {
      if (this.finished) this.toUpstream.length = 0;
      else write(this.upstreamSocket(), this.toUpstream, this.client);
    }
    if (this.toClient.length > 0) write(this.client, this.toClient, this.upstream);
  }

  private upstreamSocket(): Socket {
    if (this.upstream) return this.upstream;
    const socket = this.upstreamAt.pool.take();
    this.upstream = socket;
    let error: Error | undefined;
    const listeners = {
      data: (chunk: Buffer) => this.fromUpstream(socket, chunk),
      error: (err: Error) => {
        error = err;
      },
      close: () => this.upstreamClosed(socket, error),
    };
    socket.on("data", listeners.data).on("error", listeners.error).on("close", listeners.close);
    this.upstreamListeners = listeners;
    return socket;
  }
}

/**
 * Writes the pieces (one system call for several: corked) and empties the list; when the destination's
 * buffer is full, the source waits for it to drain.
 */
function write(destination: Socket, pieces: Buffer[], source: Socket | undefined): void {
  if (destination.writable) {
    if (pieces.length === 1) destination.write(pieces[0] as Buffer);
    else {
      destination.cork();
      for (const p of pieces) destination.write(p);
      destination.uncork();
    }
    if (destination.writableNeedDrain && source && !source.isPaused()) {
      source.pause();
      destination.once("drain", () => source.resume());
    }
  }
  pieces.length = 0;
}
