// Minifies the client runtime (crates/axum-suspense/src/runtime.js) and the
// islands module (islands.js) into runtime.min.js and islands.min.js beside
// them, the bytes the engine sends. Run by ./build;
// `--check` writes nothing and fails if the committed file differs.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { minify } from "terser";

const src = fileURLToPath(new URL("../../crates/axum-suspense/src/", import.meta.url));
const check = process.argv.includes("--check");
let failed = false;

// The runtime (inline in most pages) and the islands module (a file).
for (const name of ["runtime", "islands"]) {
  const source = readFileSync(src + name + ".js", "utf8");
  const target = src + name + ".min.js";

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
    console.error(`${name}.min.js: the minified code contains </script or <!--`);
    process.exit(1);
  }

  if (check) {
    let committed = "";
    try {
      committed = readFileSync(target, "utf8");
    } catch {}
    if (committed !== code) {
      console.error(`${name}.min.js is not the minified ${name}.js: run scripts/runtime/build`);
      failed = true;
    } else {
      console.log(`${name}.min.js matches ${name}.js (${code.length} bytes)`);
    }
  } else {
    writeFileSync(target, code);
    console.log(`${name}.min.js: ${code.length} bytes`);
  }
}
process.exit(failed ? 1 : 0);
