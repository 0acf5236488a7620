/**
 * Temporary directories for tests, removed when the test process ends (its `unload` event), so a
 * suite run leaves nothing in the system's temp dir even when a host restarts on a directory after
 * its first process stopped.
 */
const made = new Set<string>();

globalThis.addEventListener("unload", () => {
  for (const dir of made) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* gone already */ }
  }
});

/** A new directory under the system's temp dir, named `prefix` + random characters. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  made.add(dir);
  return dir;
}
