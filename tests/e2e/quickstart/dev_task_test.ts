// The README's first command on a machine with Node and npm but no Deno: in a fresh copy of the
// repository (the files a clone has: tracked and unignored, nothing built or cached), with no
// `deno` of its own to fall back on (a `deno` on PATH that fails, an empty npm global prefix so
// npx cannot reuse an installed one, an empty DENO_DIR), `npx -y deno@2.9.6 task dev` starts the
// playground: the samples become Ready, kubectl works against it, Ctrl-C (SIGINT to the process
// group, as a terminal sends it) stops it, and it downloaded exactly the npm packages of the
// root lockfile (no test-only package). `.ci/run` proves the second command, `task test`, by
// running the whole suite that way. Skipped, with a note, without npx or git.
import assert from "node:assert/strict";
import { parse } from "yaml";
import { connect } from "../../../lib/client/mod.ts";
import { type Tenant, TENANT_RESOURCE } from "../../../lib/api/mod.ts";
import { onPath, withDir } from "../../support/fs.ts";
import { runTool, toolsPresent } from "../../support/tools.ts";
import { eventually } from "../../support/wait.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;
const TOOLS = toolsPresent(["npx", "git"], "the quickstart test of `npx -y deno@2.9.6 task dev`");
/** The README's command, with a free port so that it can run next to other tests. */
const COMMAND = ["-y", "deno@2.9.6", "task", "dev", "--port", "0"];

/** Copies the files a fresh clone of the repository has (tracked and not ignored) to `dir`. */
async function freshCopy(dir: string): Promise<void> {
  const listed = await runTool("git", [
    "-C",
    ROOT,
    "ls-files",
    "-z",
    "--cached",
    "--others",
    "--exclude-standard",
  ]);
  assert.equal(listed.code, 0, listed.stderr);
  for (const path of listed.stdout.split("\0").filter((path) => path !== "")) {
    const info = await Deno.lstat(`${ROOT}${path}`).catch(() => undefined);
    if (info === undefined) continue; // deleted in the work tree
    await Deno.mkdir(`${dir}/${path}`.replace(/\/[^/]*$/, ""), { recursive: true });
    if (info.isSymlink) await Deno.symlink(await Deno.readLink(`${ROOT}${path}`), `${dir}/${path}`);
    else await Deno.copyFile(`${ROOT}${path}`, `${dir}/${path}`);
  }
}

/** The npm packages (`name@version`) in a DENO_DIR's npm cache. */
async function downloaded(denoDir: string): Promise<string[]> {
  const registry = `${denoDir}/npm/registry.npmjs.org`;
  const found: string[] = [];
  const versions = async (dir: string, name: string) => {
    for await (const version of Deno.readDir(dir)) {
      if (version.isDirectory) found.push(`${name}@${version.name}`);
    }
  };
  for await (const entry of Deno.readDir(registry)) {
    if (!entry.isDirectory) continue;
    if (entry.name.startsWith("@")) {
      for await (const scoped of Deno.readDir(`${registry}/${entry.name}`)) {
        if (scoped.isDirectory) {
          await versions(
            `${registry}/${entry.name}/${scoped.name}`,
            `${entry.name}/${scoped.name}`,
          );
        }
      }
    } else {
      await versions(`${registry}/${entry.name}`, entry.name);
    }
  }
  return found.sort();
}

Deno.test({
  name: "`npx -y deno@2.9.6 task dev` in a fresh copy without Deno: samples Ready, Ctrl-C stops",
  ignore: !TOOLS,
  fn: async () => {
    await withDir(async (dir) => {
      const clone = `${dir}/kleff`;
      await freshCopy(clone);
      await Deno.mkdir(`${dir}/bin`);
      await Deno.writeTextFile(
        `${dir}/bin/deno`,
        '#!/bin/sh\necho "deno: not installed on this machine" >&2\nexit 127\n',
        { mode: 0o755 },
      );
      await Deno.mkdir(`${dir}/npm-prefix`);
      const child = new Deno.Command("npx", {
        args: COMMAND,
        cwd: clone,
        env: {
          PATH: `${dir}/bin:${Deno.env.get("PATH")}`,
          npm_config_prefix: `${dir}/npm-prefix`,
          npm_config_update_notifier: "false",
          DENO_DIR: `${dir}/deno-dir`,
          NO_COLOR: "1",
        },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        detached: true, // its own process group, like a command in a terminal
      }).spawn();
      const output = Promise.all([
        new Response(child.stdout).text(),
        new Response(child.stderr).text(),
      ]).then(([stdout, stderr]) => stdout + stderr);
      let exited = false;
      child.status.then(() => exited = true);
      try {
        const kubeconfig = `${clone}/dev.kubeconfig`;
        await eventually("the playground wrote dev.kubeconfig", async () => {
          if (exited) throw new Error(`exited early:\n${await output}`);
          return JSON.parse(await Deno.readTextFile(kubeconfig));
        }, { timeoutMs: 180_000, intervalMs: 200 });
        const client = await connect({ kubeconfig });
        try {
          const samples: string[] = [];
          for await (const entry of Deno.readDir(`${clone}/deploy/samples`)) {
            const sample = parse(await Deno.readTextFile(`${clone}/deploy/samples/${entry.name}`));
            samples.push(sample.metadata.name);
          }
          assert.ok(samples.length >= 3, samples.join(", "));
          const tenants = client.resource<Tenant>(TENANT_RESOURCE);
          for (const name of samples) {
            await eventually(`sample ${name} Ready`, async () => {
              const tenant = await tenants.get(name);
              return tenant.status?.conditions?.some((condition) =>
                condition.type === "TenantReady" && condition.status === "True"
              );
            }, 30_000);
          }
        } finally {
          client.close();
        }
        if (onPath("kubectl")) {
          const kubectl = (...args: string[]) =>
            runTool("kubectl", ["--kubeconfig", kubeconfig, ...args], { cwd: clone });
          const wide = await kubectl("get", "tenants", "-o", "wide");
          assert.equal(wide.code, 0, wide.stderr);
          assert.match(
            wide.stdout,
            /^example-tenant\s+exampleuser\s+basic\s+.*\s+Ready\s+pods=20/m,
          );
          const explain = await kubectl("explain", "tenant.spec");
          assert.equal(explain.code, 0, explain.stderr);
          assert.match(explain.stdout, /userId\t<string> -required-/);
        }
        assert.deepEqual(
          await downloaded(`${dir}/deno-dir`),
          Object.keys(JSON.parse(await Deno.readTextFile(`${clone}/deno.lock`)).npm).sort(),
          "the root lockfile's packages, nothing else",
        );
      } finally {
        if (!exited) Deno.kill(-child.pid, "SIGINT");
        // A playground that ignores Ctrl-C must not outlive the test (the assertions below fail).
        const stuck = setTimeout(() => {
          try {
            Deno.kill(-child.pid, "SIGKILL");
          } catch {
            // Gone meanwhile.
          }
        }, 30_000);
        await child.status;
        clearTimeout(stuck);
      }
      const text = await output;
      assert.match(text, /kleff dev playground: API server at http:\/\/127\.0\.0\.1:\d+/);
      assert.match(text, /playground stopped/, text);
      await eventually("every process of the group gone", () => {
        try {
          Deno.kill(-child.pid, 0);
          return false;
        } catch {
          return true;
        }
      });
    });
  },
});
