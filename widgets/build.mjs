// Builds dist/: personalize-<hash>.js (loader + core, one request: no chunk of its own imported statically) and one
// lazily imported chunk per widget, ESM with splitting.
// The same files are copied into the Shopify theme app extension's assets/, where the app embed loads them.
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
const shopifyAssets = join(here, "..", "integrations", "shopify", "extension", "assets");

rmSync(dist, { recursive: true, force: true });
const result = await esbuild.build({
  entryPoints: { personalize: join(here, "src", "loader.js") },
  outdir: dist,
  bundle: true,
  splitting: true,
  format: "esm",
  target: ["es2020", "chrome80", "safari14", "firefox80"],
  minify: true,
  // Every file name carries its content hash, so the app serves them "immutable" for a year; personalize.js (the
  // unhashed copy below) is for the Shopify extension, whose CDN versions asset URLs itself, and older pages.
  entryNames: "[name]-[hash]",
  chunkNames: "[name]-[hash]",
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
  absWorkingDir: here,
});
writeFileSync(join(dist, "meta.json"), JSON.stringify(result.metafile));
const entry = Object.keys(result.metafile.outputs).find((o) => result.metafile.outputs[o].entryPoint);
copyFileSync(join(here, entry), join(dist, "personalize.js"));
// Pages name the hashed loader (the demo store, the WooCommerce plugin's config): the app reads it here.
writeFileSync(join(dist, "manifest.json"), JSON.stringify({ "personalize.js": basename(entry) }));

const css = await esbuild.transform(readFileSync(join(here, "src", "personalize.css"), "utf8"), {
  loader: "css",
  minify: true,
});
writeFileSync(join(dist, "personalize.css"), css.code);
// The WordPress plugin inlines the same rules from its own folder (no stylesheet from the app's origin).
writeFileSync(join(here, "..", "integrations", "woocommerce", "wordpress-plugin", "personalize", "assets", "personalize.css"), css.code);

// Precompressed copies for the app's own asset route (it picks br or gzip by Accept-Encoding; Shopify's CDN and a
// WordPress host compress for themselves).
for (const name of readdirSync(dist)) {
  if (!/\.(js|css)$/.test(name)) continue;
  const raw = readFileSync(join(dist, name));
  writeFileSync(join(dist, name + ".gz"), gzipSync(raw, { level: 9 }));
  writeFileSync(join(dist, name + ".br"), brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
}

rmSync(shopifyAssets, { recursive: true, force: true });
mkdirSync(shopifyAssets, { recursive: true });
const forShopify = (src) => !/(meta|manifest)\.json$|\.(gz|br)$/.test(src) && !/personalize-[A-Z0-9]+\.js$/.test(src);
cpSync(dist, shopifyAssets, { recursive: true, filter: forShopify });
