/** A model server's inference call, recognised by its path. */
export interface TapRoute {
  protocol: "v1" | "v2" | "torchserve";
  model: string;
  version: string;
}

const TF_SERVING =
  /^\/v1\/models\/([^/:]+)(?:\/versions\/([^/:]+)|\/labels\/([^/:]+))?:(predict|classify|regress)$/;
const OIP = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/infer$/;
const TORCHSERVE = /^\/predictions\/([^/]+)(?:\/([^/]+))?$/;

/**
 * The inference route a request is for: TensorFlow Serving REST and KServe v1
 * (`/v1/models/{name}[/versions/{v}|/labels/{l}]:predict|:classify|:regress`), the Open Inference Protocol
 * (`/v2/models/{name}[/versions/{v}]/infer`), TorchServe (`/predictions/{name}[/{version}]`); anything else
 * (health, metadata, management) is passed through unrecorded.
 */
export function tapRoute(method: string, url: string): TapRoute | undefined {
  if (method !== "POST") return undefined;
  const path = decodeURIComponent(url.split("?", 1)[0] ?? "");
  let m = TF_SERVING.exec(path);
  if (m) return { protocol: "v1", model: m[1] as string, version: m[2] ?? m[3] ?? "" };
  m = OIP.exec(path);
  if (m) return { protocol: "v2", model: m[1] as string, version: m[2] ?? "" };
  m = TORCHSERVE.exec(path);
  if (m) return { protocol: "torchserve", model: m[1] as string, version: m[2] ?? "" };
  return undefined;
}
