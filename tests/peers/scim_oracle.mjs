// Independent SCIM oracles for tests/integration/test_scim.py: reads one JSON request on stdin,
// writes one JSON answer on stdout.
//   {"filter": "<SCIM filter>", "resources": [...]}  -> {"ids": [ids of the resources it selects]}
//   {"patch": [Operations...], "resource": {...}}    -> {"resource": <the patched resource>}
//                                                       or {"error": "<scim-patch error name>"}
// scim2-parse-filter (parse + filter) and scim-patch (scimPatch, treatMissingAsAdd) are the
// npm packages pinned in tests/peers/package.json; nothing here re-implements their semantics.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { parse, filter } = require("scim2-parse-filter");
const { scimPatch } = require("scim-patch");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const req = JSON.parse(input);
  let out;
  if (req.filter !== undefined) {
    const keep = filter(parse(req.filter));
    out = { ids: req.resources.filter(keep).map((r) => r.id) };
  } else {
    try {
      out = { resource: scimPatch(req.resource, req.patch, { mutateDocument: false, treatMissingAsAdd: true }) };
    } catch (e) {
      out = { error: e.constructor.name };
    }
  }
  process.stdout.write(JSON.stringify(out));
});
