import { afterAll, beforeAll } from "vitest";
import { migrate, Store } from "../../store/index.js";
import { tempDir } from "./service.js";

/**
 * An embedded store with the schema, opened before the file's tests and removed after them (one per test
 * file: chdb binds one data directory per process). `store()` gives it once tests run.
 */
export function migratedStoreForFile(retentionDays = 30): { store: () => Store; dataDir: string } {
  const dir = tempDir();
  let store: Store | undefined;
  beforeAll(async () => {
    store = await Store.open({ database: "modelwatch", dataDir: dir.path });
    await migrate(store, { retentionDays });
  });
  afterAll(async () => {
    await store?.close();
    dir.remove();
  });
  return {
    store: () => {
      if (!store) throw new Error("the store opens before the file's tests run");
      return store;
    },
    dataDir: dir.path,
  };
}
