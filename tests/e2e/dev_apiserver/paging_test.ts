// Paged and versioned lists as kube serves them from etcd: every page at the first page's
// resourceVersion, kube's continue tokens, 410 with an inconsistent token once that version is
// gone, remainingItemCount, and exact or future resourceVersions.
import assert from "node:assert/strict";
import { api, withServer } from "./support.ts";

const CM = "/api/v1/namespaces/default/configmaps";

function names(body: { items: { metadata: { name: string } }[] }): string[] {
  return body.items.map((i) => i.metadata.name);
}

function decodeToken(token: string): unknown {
  return JSON.parse(
    new TextDecoder().decode(Uint8Array.fromBase64(token, { alphabet: "base64url" })),
  );
}

Deno.test("paging: later pages are served at the first page's resourceVersion", async () => {
  await withServer(async (server) => {
    for (const name of ["a", "b", "c", "d", "e"]) {
      await api(server, "POST", CM, { metadata: { name }, data: { v: "1" } });
    }
    const first = await api(server, "GET", `${CM}?limit=2`);
    assert.deepEqual(names(first.body), ["a", "b"]);
    const rv = first.body.metadata.resourceVersion;
    const d = await api(server, "GET", `${CM}/d`);
    // After the first page: one object deleted, one modified, two created (one inside the range).
    assert.equal((await api(server, "DELETE", `${CM}/c`)).status, 200);
    await api(server, "PATCH", `${CM}/d`, { data: { v: "2" } });
    await api(server, "POST", CM, { metadata: { name: "bb" } });
    await api(server, "POST", CM, { metadata: { name: "f" } });

    const second = await api(
      server,
      "GET",
      `${CM}?limit=2&continue=${first.body.metadata.continue}`,
    );
    assert.equal(second.status, 200);
    assert.deepEqual(names(second.body), ["c", "d"], "deleted c still served, new bb absent");
    assert.equal(second.body.items[1].data.v, "1", "d at its version of the first page");
    assert.equal(second.body.items[1].metadata.resourceVersion, d.body.metadata.resourceVersion);
    assert.equal(second.body.metadata.resourceVersion, rv);
    assert.equal(second.body.metadata.remainingItemCount, 1);
    const third = await api(
      server,
      "GET",
      `${CM}?limit=2&continue=${second.body.metadata.continue}`,
    );
    assert.deepEqual(names(third.body), ["e"], "f, created after the first page, is absent");
    assert.equal(third.body.metadata.continue, undefined);
    assert.equal(third.body.metadata.remainingItemCount, undefined);

    const now = await api(server, "GET", CM);
    assert.deepEqual(names(now.body), ["a", "b", "bb", "d", "e", "f"]);
  });
});

Deno.test("paging: continue tokens have kube's shape and are checked", async () => {
  await withServer(async (server) => {
    for (const name of ["a", "b", "c"]) await api(server, "POST", CM, { metadata: { name } });
    const first = await api(server, "GET", `${CM}?limit=1`);
    const rv = Number(first.body.metadata.resourceVersion);
    assert.deepEqual(decodeToken(first.body.metadata.continue), {
      v: "meta.k8s.io/v1",
      rv,
      start: "a\u0000",
    });
    const all = await api(server, "GET", "/api/v1/configmaps?limit=1");
    assert.deepEqual(decodeToken(all.body.metadata.continue), {
      v: "meta.k8s.io/v1",
      rv,
      start: "default/a\u0000",
    });
    const garbage = await api(server, "GET", `${CM}?limit=1&continue=garbage!`);
    assert.equal(garbage.status, 400);
    assert.match(garbage.body.message, /^invalid continue token: continue key is not valid/);
    const withVersion = await api(
      server,
      "GET",
      `${CM}?limit=1&resourceVersion=${rv}&continue=${first.body.metadata.continue}`,
    );
    assert.equal(withVersion.status, 400);
    assert.equal(
      withVersion.body.message,
      "specifying resource version is not allowed when using continue",
    );
  });
});

Deno.test("paging: an expired continue token gets 410 with a token to go on inconsistently", async () => {
  await withServer(async (server) => {
    for (const name of ["a", "b", "c", "d"]) await api(server, "POST", CM, { metadata: { name } });
    const first = await api(server, "GET", `${CM}?limit=2`);
    await api(server, "DELETE", `${CM}/c`);
    await api(server, "POST", CM, { metadata: { name: "e" } });
    server.faults.compact();
    const expired = await api(
      server,
      "GET",
      `${CM}?limit=2&continue=${first.body.metadata.continue}`,
    );
    assert.equal(expired.status, 410);
    assert.equal(expired.body.reason, "Expired");
    assert.match(
      expired.body.message,
      /^The provided continue parameter is too old to display a consistent list result\. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results\./,
    );
    const token = expired.body.metadata.continue;
    assert.deepEqual(decodeToken(token), { v: "meta.k8s.io/v1", rv: -1, start: "b\u0000" });
    const rest = await api(server, "GET", `${CM}?limit=2&continue=${token}`);
    assert.equal(rest.status, 200);
    assert.deepEqual(names(rest.body), ["d", "e"], "the remainder as it is now");
    const current = (await api(server, "GET", CM)).body.metadata.resourceVersion;
    assert.equal(rest.body.metadata.resourceVersion, current);
    assert.equal(rest.body.metadata.continue, undefined);
  });
});

Deno.test("paging: selectors fill pages, without remainingItemCount", async () => {
  await withServer(async (server) => {
    for (const [name, odd] of [["a", "1"], ["b", "0"], ["c", "1"], ["d", "0"]]) {
      await api(server, "POST", CM, { metadata: { name, labels: { odd } } });
    }
    const page = await api(server, "GET", `${CM}?limit=2&labelSelector=odd%3D1`);
    assert.deepEqual(names(page.body), ["a", "c"]);
    assert.equal(page.body.metadata.remainingItemCount, undefined);
    assert.ok(page.body.metadata.continue, "keys remain after c, so a token like etcd's");
    const rest = await api(
      server,
      "GET",
      `${CM}?limit=2&labelSelector=odd%3D1&continue=${page.body.metadata.continue}`,
    );
    assert.deepEqual(names(rest.body), []);
    const unlimited = await api(server, "GET", `${CM}?limit=-1`);
    assert.deepEqual(names(unlimited.body), ["a", "b", "c", "d"], "a negative limit is no limit");
    assert.equal((await api(server, "GET", `${CM}?limit=x`)).status, 400);
  });
});

Deno.test("paging: across namespaces, items come in etcd's key order", async () => {
  await withServer(async (server) => {
    for (const ns of ["a", "a-b"]) {
      await api(server, "POST", "/api/v1/namespaces", { metadata: { name: ns } });
      await api(server, "POST", `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: "x" } });
    }
    const keys: string[] = [];
    let token = "";
    do {
      const page = await api(
        server,
        "GET",
        `/api/v1/configmaps?limit=1${token ? `&continue=${token}` : ""}`,
      );
      keys.push(
        ...page.body.items.map((i: { metadata: { namespace: string } }) => i.metadata.namespace),
      );
      token = page.body.metadata.continue ?? "";
    } while (token);
    assert.deepEqual(keys, ["a-b", "a"], "a-b/x sorts before a/x byte-wise");
  });
});

Deno.test("lists at a resourceVersion: exact, not older than, too old and too new", async () => {
  await withServer(async (server) => {
    await api(server, "POST", CM, { metadata: { name: "a" }, data: { v: "1" } });
    const rv = (await api(server, "GET", CM)).body.metadata.resourceVersion;
    await api(server, "PATCH", `${CM}/a`, { data: { v: "2" } });
    await api(server, "POST", CM, { metadata: { name: "b" } });
    const exact = await api(
      server,
      "GET",
      `${CM}?resourceVersion=${rv}&resourceVersionMatch=Exact`,
    );
    assert.deepEqual(names(exact.body), ["a"]);
    assert.equal(exact.body.items[0].data.v, "1");
    assert.equal(exact.body.metadata.resourceVersion, rv);
    const legacy = await api(server, "GET", `${CM}?resourceVersion=${rv}&limit=10`);
    assert.deepEqual(names(legacy.body), ["a"], "a resourceVersion with a limit is exact");
    const cached = await api(server, "GET", `${CM}?resourceVersion=0&limit=1`);
    assert.deepEqual(
      names(cached.body),
      ["a", "b"],
      "resourceVersion=0 is served whole, as from kube's cache",
    );
    assert.equal(cached.body.metadata.continue, undefined);
    const notOlder = await api(server, "GET", `${CM}?resourceVersion=${rv}`);
    assert.deepEqual(names(notOlder.body), ["a", "b"]);
    assert.equal(notOlder.body.items[0].data.v, "2");

    const future = await api(server, "GET", `${CM}?resourceVersion=999999`);
    assert.equal(future.status, 504);
    assert.equal(future.body.reason, "Timeout");
    assert.match(
      future.body.message,
      /^Timeout: Too large resource version: 999999, current: \d+$/,
    );
    assert.equal(future.body.details.causes[0].reason, "ResourceVersionTooLarge");
    assert.equal(future.headers.get("retry-after"), "1");

    server.faults.compact();
    const gone = await api(server, "GET", `${CM}?resourceVersion=${rv}&resourceVersionMatch=Exact`);
    assert.equal(gone.status, 410);
    assert.equal(gone.body.message, "The resourceVersion for the provided list is too old.");

    const noVersion = await api(server, "GET", `${CM}?resourceVersionMatch=Exact`);
    assert.equal(noVersion.status, 422);
    assert.equal(noVersion.body.details.causes[0].field, "resourceVersionMatch");
    const zero = await api(server, "GET", `${CM}?resourceVersion=0&resourceVersionMatch=Exact`);
    assert.equal(zero.status, 422);
    const unknown = await api(server, "GET", `${CM}?resourceVersion=1&resourceVersionMatch=Bogus`);
    assert.equal(unknown.status, 422);
    assert.equal(unknown.body.details.causes[0].reason, "FieldValueNotSupported");
  });
});
