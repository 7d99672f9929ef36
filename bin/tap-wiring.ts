import { startTap, type TapOutcome, TapRecorder } from "../collector/index.js";
import type { Config } from "./config.js";

/** Predictions the tap holds while they are written, at most; past it they are dropped and counted. */
const TAP_MAX_QUEUED = 100_000;

export interface TapWiring {
  /** Writes a batch of recorded events (NDJSON); a throw counts them as dropped. */
  write(ndjson: string): Promise<void>;
  dropped(count: number, reason: "queue_full" | "write_failed"): void;
  outcome(outcome: TapOutcome): void;
}

/**
 * The tap proxy as the config says (upstream, host, port, mappings, body bound), its records written
 * through a bounded recorder: by ingest inside `serve`, over OTLP by `modelwatch tap`. Closing stops the
 * proxy, then writes what the recorder still holds.
 */
export async function startConfiguredTap(
  config: Config,
  upstream: URL,
  wiring: TapWiring,
): Promise<{ port: number; close(): Promise<void> }> {
  const recorder = new TapRecorder((ndjson) => wiring.write(ndjson), TAP_MAX_QUEUED, wiring.dropped);
  const tap = await startTap({
    upstream,
    host: config.host,
    port: config.tap.port,
    mappings: config.inferenceMappings,
    maxRecordBytes: config.limits.maxBodyBytes,
    record: (events, count) => recorder.add(events, count),
    count: wiring.outcome,
  });
  return {
    port: tap.port,
    close: async () => {
      await tap.close();
      await recorder.flush();
    },
  };
}
