import { type CallReport, type DropReason, startTapThread, type TapOutcome } from "../collector/index.js";
import type { Config } from "./config.js";

/** Predictions the tap holds while they are written, at most; past it they are dropped and counted. */
const TAP_MAX_QUEUED = 100_000;

export interface TapWiring {
  /**
   * Writes a batch of recorded calls (as collector's call batch lays them out) and says what reading them
   * came to; a throw counts their predictions as dropped.
   */
  write(batch: Uint8Array): Promise<CallReport>;
  dropped(count: number, reason: DropReason): void;
  outcome(outcome: TapOutcome, count: number): void;
  /** The tap's thread died: it no longer listens. */
  failed(error: Error): void;
}

/**
 * The tap proxy as the config says (upstream, host, port, mappings, body bound), on its own thread, its
 * records written through a bounded recorder: by ingest inside `serve`, over OTLP by `modelwatch tap`.
 * Closing stops the proxy, then writes what the recorder still holds.
 */
export async function startConfiguredTap(
  config: Config,
  upstream: URL,
  wiring: TapWiring,
): Promise<{ port: number; close(): Promise<void> }> {
  return startTapThread({
    upstream,
    host: config.host,
    port: config.tap.port,
    maxRecordBytes: config.limits.maxBodyBytes,
    mappings: config.inferenceMappings,
    maxQueued: TAP_MAX_QUEUED,
    write: async (batch) => {
      const report = await wiring.write(batch);
      if (report.recorded) wiring.outcome("recorded", report.recorded);
      if (report.passedThrough) wiring.outcome("passed_through", report.passedThrough);
      if (report.unreadable.length) wiring.outcome("unreadable_payload", report.unreadable.length);
    },
    count: wiring.outcome,
    dropped: wiring.dropped,
    onError: wiring.failed,
  });
}
