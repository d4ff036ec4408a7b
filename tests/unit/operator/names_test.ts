// Names by key: a lone name is a string, two or more a Set, and removal goes back to a string.
import assert from "node:assert/strict";
import { addName, eachName, NamesByKey, removeName } from "../../../lib/operator/names.ts";

Deno.test("one name stays a string; a second makes a Set; removal shrinks back", () => {
  let names = addName(undefined, "a");
  assert.equal(names, "a");
  assert.equal(addName(names, "a"), "a", "adding the same name again changes nothing");
  names = addName(names, "b");
  assert.deepEqual([...eachName(names)].sort(), ["a", "b"]);
  names = addName(names, "c");
  assert.equal(removeName(names, "x"), names, "removing an absent name keeps the rest");
  assert.deepEqual([...eachName(removeName(names, "a"))].sort(), ["b", "c"]);
  assert.equal(removeName(names, "b"), "c", "one left: the string again");
  assert.equal(removeName("c", "c"), undefined);
  assert.equal(removeName("c", "d"), "c");
  assert.deepEqual([...eachName(undefined)], []);
});

Deno.test("names by key: added, listed and removed per key", () => {
  const byKey = new NamesByKey();
  byKey.add("ns-a", "t1");
  byKey.add("ns-a", "t2");
  byKey.add("ns-b", "t3");
  assert.deepEqual([...byKey.get("ns-a")].sort(), ["t1", "t2"]);
  byKey.delete("ns-a", "t1");
  assert.deepEqual([...byKey.get("ns-a")], ["t2"]);
  byKey.delete("ns-a", "t2");
  byKey.delete("ns-b", "nobody");
  assert.deepEqual([...byKey.get("ns-a")], []);
  assert.deepEqual([...byKey.get("ns-b")], ["t3"]);
});
