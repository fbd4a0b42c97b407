// The manage portal (/manage/) and the kiosk app (/kiosk/), two pages of one Vite build that the
// gateway serves from dist/ (docs/web.md). Preact through esbuild's automatic JSX runtime: no
// plugin needed.
import { resolve } from "node:path";
import { defineConfig } from "vite";

const here = import.meta.dirname;

export default defineConfig({
  base: "/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
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
