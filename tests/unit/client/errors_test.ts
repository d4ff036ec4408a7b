// The error predicates: typed errors, and errors merely shaped like API errors (fakes, wrappers).
import assert from "node:assert/strict";
import {
  apiErrorFromStatus,
  isAlreadyExists,
  isConflict,
  isNotFound,
} from "../../../lib/client/mod.ts";

Deno.test("predicates recognize typed errors and plain { code, reason } errors alike", () => {
  const typed = (code: number, reason: string) => apiErrorFromStatus({ code, reason });
  const plain = (code?: number, reason?: string) =>
    Object.assign(new Error("fake"), { code, reason });
  for (const error of [typed(404, "NotFound"), plain(404), plain(undefined, "NotFound")]) {
    assert.ok(isNotFound(error), String(error));
    assert.ok(!isConflict(error) && !isAlreadyExists(error));
  }
  for (const error of [typed(409, "AlreadyExists"), plain(409, "AlreadyExists")]) {
    assert.ok(isAlreadyExists(error) && !isConflict(error));
  }
  for (const error of [typed(409, "Conflict"), plain(409), plain(409, "Conflict")]) {
    assert.ok(isConflict(error) && !isAlreadyExists(error));
  }
  for (const error of [undefined, null, "NotFound", 404, new Error("x"), { code: "ENOENT" }]) {
    assert.ok(!isNotFound(error) && !isConflict(error) && !isAlreadyExists(error));
  }
});
