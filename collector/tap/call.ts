import { randomUUID } from "node:crypto";
import { bodyBytes, type CapturedCall, idsHeaderValue } from "../inference/captured-call.js";
import type { TapRoute } from "./routes.js";

/** Where what a call's recording takes goes. */
export interface RecordTarget {
  /**
   * Takes a recorded call, with the number of predictions it should give (its instances, as far as the
   * proxy counted them); never throws. Reading its bodies is left to the taker, off the proxy's path.
   */
  record(call: CapturedCall, predictions: number): void;
  /** Told of a call that is not recorded because a body was larger than the bound. */
  count?(outcome: "too_large"): void;
}

/**
 * One inference call through the tap (a request its route recognised): its bodies as they pass, the
 * prediction ids the answer names, and what is recorded of it once the answer has been sent.
 */
export class TapCall {
  readonly started = performance.now();
  readonly request: BodyCollector;
  response: BodyCollector | undefined;
  /** How many instances the request has, and the base of their ids, once its body is known (unset when it cannot be read). */
  private instances: number | undefined;
  private idBase: string | undefined;

  constructor(
    readonly route: TapRoute,
    private readonly requestId: string | undefined,
    private readonly maxRecordBytes: number,
  ) {
    this.request = new BodyCollector(maxRecordBytes);
  }

  /** The request's body is complete: its instances are counted and named, ahead of the answer. */
  requestDone(): void {
    this.request.finish();
    const n = instanceCount(this.route, this.request.json());
    if (!n) return;
    this.instances = n;
    this.idBase = this.requestId || randomUUID();
  }

  /** The ids as the answer's header names them; undefined while the request's instances are unknown. */
  idsHeader(): string | undefined {
    return this.instances === undefined ? undefined : idsHeaderValue(this.instances, this.idBase as string);
  }

  /** An answer began: a successful one's body is collected for the recording. */
  answered(status: number): void {
    this.response = status < 400 ? new BodyCollector(this.maxRecordBytes) : undefined;
  }

  /** Hands both bodies over as they are, to be read into predictions by the target's taker. */
  record(latencyMs: number, target: RecordTarget): void {
    const { request, response, route } = this;
    if (!request.done || !response || request.overflowed || response.overflowed) {
      target.count?.("too_large");
      return;
    }
    target.record(
      {
        reader: route.protocol === "torchserve" ? "torchserve" : "inference",
        model: route.model,
        version: route.version,
        idBase: this.idBase,
        instances: this.instances,
        timeMs: Date.now(),
        latencyMs,
        request: request.chunks,
        response: response.chunks,
      },
      this.instances ?? 1,
    );
  }
}

function instanceCount(route: TapRoute, body: unknown): number | undefined {
  const o = body as Record<string, unknown> | undefined;
  if (!o || typeof o !== "object") return undefined;
  if (route.protocol === "v2") {
    const first = (o.inputs as Array<{ shape?: number[] }> | undefined)?.[0];
    return Array.isArray(first?.shape) ? Number(first.shape[0]) : undefined;
  }
  for (const k of ["instances", "examples", "inputs"]) {
    const v = o[k];
    if (Array.isArray(v)) return v.length;
    if (k === "inputs" && v && typeof v === "object") {
      const column = Object.values(v)[0];
      return Array.isArray(column) ? column.length : undefined;
    }
  }
  return route.protocol === "torchserve" ? 1 : undefined;
}

const utf8 = new TextDecoder();

/** A body's chunks kept up to a bound, read as JSON once complete. */
class BodyCollector {
  readonly chunks: Buffer[] = [];
  private size = 0;
  overflowed = false;
  done = false;

  constructor(private readonly max: number) {}

  add(chunk: Buffer): void {
    if (this.overflowed) return;
    this.size += chunk.length;
    if (this.size > this.max) {
      this.overflowed = true;
      this.chunks.length = 0;
      return;
    }
    this.chunks.push(chunk);
  }

  finish(): void {
    this.done = true;
  }

  /** The body as JSON, or undefined when it is not JSON (or was too large). */
  json(): unknown {
    if (this.overflowed) return undefined;
    try {
      return JSON.parse(utf8.decode(bodyBytes(this.chunks)));
    } catch {
      return undefined;
    }
  }
}
