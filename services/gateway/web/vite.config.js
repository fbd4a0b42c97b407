// The manage portal (/manage/) and the kiosk app (/kiosk/), two pages of one Vite build that the
// gateway serves from dist/ (docs/web.md). Preact through esbuild's automatic JSX runtime: no
// plugin needed.
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { defineConfig } from "vite";

const here = import.meta.dirname;

// The kiosk's in-browser face models (@vladmandic/human, docs/kiosk-app.md): copied from the
// registry package into the served assets, under a folder named by the package's version (the
// gateway serves /assets/ as immutable), and loaded from there: never from a CDN.
const HUMAN_DIR = resolve(here, "node_modules/@vladmandic/human");
const HUMAN_VERSION = JSON.parse(readFileSync(resolve(HUMAN_DIR, "package.json"), "utf8")).version;
export const HUMAN_MODELS = ["blazeface", "facemesh", "antispoof", "liveness"];
const HUMAN_BASE = `/assets/human-${HUMAN_VERSION}/`;
// TensorFlow.js's WebAssembly kernels (the registry package of the version Human bundles), for
// tablets whose WebGL is a software renderer: served beside the models, same rules.
const WASM_DIR = resolve(here, "node_modules/@tensorflow/tfjs-backend-wasm");
const WASM_VERSION = JSON.parse(readFileSync(resolve(WASM_DIR, "package.json"), "utf8")).version;
const WASM_FILES = ["tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm", "tfjs-backend-wasm-threaded-simd.wasm"];
const WASM_BASE = `/assets/tfjs-wasm-${WASM_VERSION}/`;

function humanModels() {
  return {
    name: "punchcard-human-models",
    writeBundle(options) {
      const out = resolve(options.dir, `assets/human-${HUMAN_VERSION}`);
      mkdirSync(out, { recursive: true });
      for (const model of HUMAN_MODELS) {
        for (const ext of ["json", "bin"]) {
          copyFileSync(resolve(HUMAN_DIR, "models", `${model}.${ext}`), resolve(out, `${model}.${ext}`));
        }
      }
      const wasmOut = resolve(options.dir, `assets/tfjs-wasm-${WASM_VERSION}`);
      mkdirSync(wasmOut, { recursive: true });
      for (const file of WASM_FILES) copyFileSync(resolve(WASM_DIR, "dist", file), resolve(wasmOut, file));
    },
  };
}

export default defineConfig({
  base: "/",
  plugins: [humanModels()],
  define: { __HUMAN_MODELS__: JSON.stringify(HUMAN_BASE), __TFJS_WASM__: JSON.stringify(WASM_BASE) },
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // @vladmandic/human with TensorFlow.js is one 1.6 MB chunk (420 kB gzip), loaded by the
    // kiosk after its page, cached for a year.
    chunkSizeWarningLimit: 1700,
    target: "es2022",
    // Content-hashed files under /assets/ (cached for a year); the two index.html pages are
    // served with no-cache so a tablet picks up a new release on its next load.
    rollupOptions: {
      input: {
        manage: resolve(here, "manage/index.html"),
        kiosk: resolve(here, "kiosk/index.html"),
      },
    },
  },
  test: { environment: "node", include: ["src/**/*.test.js"] },
});
