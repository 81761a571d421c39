import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

// index.html's Content-Security-Policy forbids inline scripts and other connections. The dev server alone
// needs both (React Refresh's inline preamble, the HMR websocket), so serve mode relaxes the policy; builds
// keep the strict one.
function devCsp(): Plugin {
  return {
    name: 'packet-walk:dev-csp',
    apply: 'serve',
    transformIndexHtml(html) {
      return html
        .replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
        .replace("connect-src 'self'", "connect-src 'self' ws: wss:");
    },
  };
}

export default defineConfig({
  plugins: [react(), devCsp()],
  worker: { format: 'es' },
  // The dev server discovers the worker's imports late and reloads the page on the first message, losing
  // the run; listing the worker entry makes dependency pre-bundling see them up front.
  optimizeDeps: { entries: ['index.html', 'src/worker/engine.worker.ts'] },
  preview: { port: 4173, strictPort: true },
  build: { target: 'es2022', sourcemap: true },
});
