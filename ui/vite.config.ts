// Vite builds ui/ into one page (index.html) plus content-hashed assets under
// assets/, which the CMake step embeds into the wattlab binary
// (src/wattlab/server/ui_assets.h). No CDN, nothing loaded from elsewhere.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // No inline <script> (the page's Content-Security-Policy forbids it) and
    // no modulepreload polyfill (every supported browser has it).
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 400,
  },
  server: {
    // `npx vite` against a running `wattlab server --port 5000` (README).
    proxy: { '/api': 'http://127.0.0.1:5000', '/ajax-api': 'http://127.0.0.1:5000' },
  },
});
