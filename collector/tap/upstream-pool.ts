import { connect, type Socket } from "node:net";

/** Where the model server is. */
export interface UpstreamAddress {
  host: string;
  port: number;
}

/**
 * Connections to the model server that no client connection holds, shared by all of them, the most recently
 * used taken first. A client connection that has sat idle gives its connection back, and a new (or newly
 * busy) one takes it instead of opening another: under a burst a load balancer or an HTTP client pool opens
 * many client connections at once, and each then waited for a connection to the model server of its own.
 * None is kept past `idleMs` since it last carried a call, shorter than model servers' keep-alive timeouts.
 */
export class UpstreamPool {
  private readonly idle: Array<{ socket: Socket; lastUsedMs: number; drop: () => void }> = [];

  constructor(
    private readonly at: UpstreamAddress,
    private readonly idleMs: number,
  ) {}

  /** A connection to the model server: an idle one when the pool has one, else a new one. */
  take(): Socket {
    for (let entry = this.idle.pop(); entry; entry = this.idle.pop()) {
      entry.socket.off("data", entry.drop).off("close", entry.drop).off("error", entry.drop);
      if (!entry.socket.destroyed && entry.socket.writable) return entry.socket;
    }
    return connect({ host: this.at.host, port: this.at.port, noDelay: true });
  }

  /**
   * Takes back a connection between calls (its listeners already removed), last used at `lastUsedMs`. One
   * the server closes, or that receives anything while pooled (a server's parting 408, say), is dropped.
   */
  give(socket: Socket, lastUsedMs: number): void {
    if (socket.destroyed || !socket.writable || Date.now() - lastUsedMs >= this.idleMs) {
      socket.destroy();
      return;
    }
    const entry = {
      socket,
      lastUsedMs,
      drop: () => {
        const i = this.idle.indexOf(entry);
        if (i >= 0) this.idle.splice(i, 1);
        socket.destroy();
      },
    };
    socket.on("data", entry.drop).on("close", entry.drop).on("error", entry.drop);
    // Kept in order of last use, so the newest is taken first and the oldest expire first.
    let at = this.idle.length;
    while (at > 0 && (this.idle[at - 1] as { lastUsedMs: number }).lastUsedMs > lastUsedMs) at--;
    this.idle.splice(at, 0, entry);
  }

  /** Closes the connections idle for `idleMs`. */
  sweep(nowMs: number): void {
    while (this.idle.length > 0 && nowMs - (this.idle[0] as { lastUsedMs: number }).lastUsedMs >= this.idleMs)
      (this.idle[0] as { drop: () => void }).drop();
  }

  close(): void {
    while (this.idle.length > 0) (this.idle[0] as { drop: () => void }).drop();
  }
}
