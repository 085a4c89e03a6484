// Minifies the client runtime (crates/axum-suspense/src/runtime.js) into
// runtime.min.js beside it, the bytes the engine sends. Run by ./build;
// `--check` writes nothing and fails if the committed file differs.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { minify } from "terser";

const src = fileURLToPath(new URL("../../crates/axum-suspense/src/", import.meta.url));
const source = readFileSync(src + "runtime.js", "utf8");
const target = src + "runtime.min.js";
const check = process.argv.includes("--check");

const { code } = await minify(source, {
  ecma: 2021,
  // Two more passes find a few more bytes once names are shorter.
  compress: { passes: 3 },
  mangle: true,
  format: { ascii_only: true },
});

// Inline in a `<script>`, `</script` (any case) would end the element, and
// `<!--` would start the legacy escape that can swallow the end tag.
if (/<\/script|<!--/i.test(code)) {
  console.error("runtime.min.js: the minified runtime contains </script or <!--");
  process.exit(1);
}

if (check) {
  let committed = "";
  try {
    committed = readFileSync(target, "utf8");
  } catch {}
  if (committed !== code) {
    console.error("runtime.min.js is not the minified runtime.js: run scripts/runtime/build");
    process.exit(1);
  }
  console.log(`runtime.min.js matches runtime.js (${code.length} bytes)`);
} else {
  writeFileSync(target, code);
  console.log(`runtime.min.js: ${code.length} bytes`);
}
