// The error predicates: only answers of the API server count, never errors merely shaped like them.
import assert from "node:assert/strict";
import {
  apiErrorFromStatus,
  isAlreadyExists,
  isConflict,
  isNotFound,
} from "../../../lib/client/mod.ts";

Deno.test("predicates recognize typed API errors by code and reason", () => {
  const typed = (code: number, reason?: string) => apiErrorFromStatus({ code, reason });
  for (const error of [typed(404, "NotFound"), typed(404)]) {
    assert.ok(isNotFound(error), String(error));
    assert.ok(!isConflict(error) && !isAlreadyExists(error));
  }
  assert.ok(
    isAlreadyExists(typed(409, "AlreadyExists")) && !isConflict(typed(409, "AlreadyExists")),
  );
  for (const error of [typed(409, "Conflict"), typed(409)]) {
    assert.ok(isConflict(error) && !isAlreadyExists(error));
  }
});

Deno.test("errors that only look like API errors are not API errors", () => {
  const plain = (code?: number, reason?: string) =>
    Object.assign(new Error("fake"), { code, reason });
  const lookalikes = [
    plain(404),
    plain(undefined, "NotFound"),
    plain(409, "AlreadyExists"),
    plain(409, "Conflict"),
    { code: 404, reason: "NotFound" },
    undefined,
    null,
    "NotFound",
    404,
    new Error("x"),
    { code: "ENOENT" },
  ];
  for (const error of lookalikes) {
    assert.ok(!isNotFound(error) && !isConflict(error) && !isAlreadyExists(error), String(error));
  }
});
