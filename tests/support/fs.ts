// File-system helpers of the tests: a temporary folder for the length of a
// callback, copying a tree, sizing one, and whether an executable is installed.

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

/** Copies the file or folder `from` to `to` (a folder's contents, recursively; links as links). */
export async function copyTree(from: string, to: string): Promise<void> {
  const info = await Deno.lstat(from);
  if (info.isSymlink) return await Deno.symlink(await Deno.readLink(from), to);
  if (info.isFile) return await Deno.copyFile(from, to);
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    await copyTree(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}

/** The bytes of the regular files under `path` (apparent sizes; links are not followed). */
export async function treeSize(path: string): Promise<number> {
  const info = await Deno.lstat(path);
  if (!info.isDirectory) return info.isFile ? info.size : 0;
  let total = 0;
  for await (const entry of Deno.readDir(path)) total += await treeSize(`${path}/${entry.name}`);
  return total;
}
