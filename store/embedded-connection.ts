import type { createClient } from "@clickhouse/client";
import { createChdbConnection } from "chdb/connection";
import { bindQueryParams } from "./sql-literal.js";

/** What `createClient` takes as its connection. */
export type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>["connection"]>;

/**
 * chdb implements `@clickhouse/client-common`'s Connection; `@clickhouse/client` bundles its own copy of those
 * types, identical in shape but distinct to the compiler, hence the one cast.
 */
export function embeddedConnection(path: string): ClientConnection {
  return createChdbConnection({ path }) as unknown as ClientConnection;
}

/**
 * Several connections to the embedded store as one: each statement goes to the connection with the fewest
 * in progress, its parameters bound into its text first.
 *
 * Why both: chdb runs one connection's statements one at a time, and every statement with parameters one at
 * a time process-wide (libchdb keeps bound parameters in state that connections share, so chdb queues them
 * all in one chain); statements without parameters on different connections run at once. Bound before they
 * go, the analyzers' statements of two model versions use both cores instead of taking turns, and an
 * insert no longer waits behind an analysis's statements.
 */
export function pooledEmbeddedConnection(path: string, size: number): ClientConnection {
  const connections = Array.from({ length: size }, () => embeddedConnection(path));
  const inProgress = connections.map(() => 0);
  const onLeastBusy = async <T>(run: (connection: ClientConnection) => Promise<T>): Promise<T> => {
    let pick = 0;
    for (let i = 1; i < connections.length; i++)
      if ((inProgress[i] as number) < (inProgress[pick] as number)) pick = i;
    inProgress[pick] = (inProgress[pick] as number) + 1;
    try {
      return await run(connections[pick] as ClientConnection);
    } finally {
      inProgress[pick] = (inProgress[pick] as number) - 1;
    }
  };
  const bound = <P extends { query: string; query_params?: Record<string, unknown> }>(params: P): P => {
    const values = params.query_params;
    if (values === undefined || Object.keys(values).length === 0) return params;
    return { ...params, query: bindQueryParams(params.query, values), query_params: undefined };
  };
  return {
    ping: (params) => onLeastBusy((c) => c.ping(params)),
    query: (params) => onLeastBusy((c) => c.query(bound(params))),
    command: (params) => onLeastBusy((c) => c.command(bound(params))),
    exec: (params) => onLeastBusy((c) => c.exec(bound(params))),
    insert: (params) => onLeastBusy((c) => c.insert(bound(params))),
    close: async () => {
      await Promise.all(connections.map((c) => c.close()));
    },
  };
}
