// File-system helpers of the tests: a temporary folder for the length of a
// callback, and whether an executable is installed.

/** Runs `fn` with a fresh temporary folder and removes the folder afterwards. */
export async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kleff-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Whether an executable is on PATH (looked up, not run, so no kubeconfig is ever read). */
export function onPath(name: string): boolean {
  return (Deno.env.get("PATH") ?? "").split(":").some((dir) => {
    try {
      return Deno.statSync(`${dir}/${name}`).isFile;
    } catch {
      return false;
    }
  });
}
