import { open } from "node:fs/promises";

/** Makes the directory's entries (files created, renamed or deleted in it) survive a crash or power cut. */
export async function syncDirectory(path: string): Promise<void> {
  const dir = await open(path, "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
