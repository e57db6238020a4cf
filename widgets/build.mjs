// Builds dist/: personalize.js (loader + core) and one lazily imported chunk per widget, ESM with splitting.
// The same files are copied into the Shopify theme app extension's assets/, where the app embed loads them.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
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
  entryNames: "[name]",
  chunkNames: "[name]-[hash]",
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
  absWorkingDir: here,
});
writeFileSync(join(dist, "meta.json"), JSON.stringify(result.metafile));

const css = await esbuild.transform(readFileSync(join(here, "src", "personalize.css"), "utf8"), {
  loader: "css",
  minify: true,
});
writeFileSync(join(dist, "personalize.css"), css.code);
// The WordPress plugin inlines the same rules from its own folder (no stylesheet from the app's origin).
writeFileSync(join(here, "..", "integrations", "woocommerce", "wordpress-plugin", "personalize", "assets", "personalize.css"), css.code);

rmSync(shopifyAssets, { recursive: true, force: true });
mkdirSync(shopifyAssets, { recursive: true });
cpSync(dist, shopifyAssets, { recursive: true, filter: (src) => !src.endsWith("meta.json") });
