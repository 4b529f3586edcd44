import { defineConfig } from 'vite';

// A static page: relative asset URLs so that it can be served from any folder, next to any run folder.
export default defineConfig({
  base: './',
  build: { outDir: 'dist', target: 'es2022', emptyOutDir: true, chunkSizeWarningLimit: 2000 }, // TensorFlow.js is most of it
});
