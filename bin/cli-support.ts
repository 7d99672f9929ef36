/** A failure the CLI prints as-is and exits 1 on. */
export class CliError extends Error {
  override readonly name = "CliError";
}

/** Whether a modelwatch service answers at `base` (then it owns the embedded store, and commands ask it). */
export async function serviceAnswers(base: string): Promise<boolean> {
  try {
    const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1_000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}
