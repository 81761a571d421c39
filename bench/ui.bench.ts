// The UI benchmark, run by `npm run bench` after the engine's (tsx bench/ui.bench.ts; --quick: fewer runs).
// Builds the app with Vite, serves it with `vite preview` on a free port, and measures in headless Chromium
// (/usr/bin/chromium or PW_CHROMIUM_PATH, with playwright.config.ts's flags):
//   - load → first animated hop: a share link with autoplay, from navigation start to the first frame in
//     which the packet is drawn on its first hop while playing (and to the first hop change, which adds
//     one hop of playback pacing);
//   - frame times (median, p95) and main-thread long tasks while a 1,000-pod walk plays at 4×;
//   - long tasks during the load itself.
// --cpu-throttle=N slows the page's CPU N times during playback (Chrome's own CPU throttling, as DevTools
// offers it): a loaded or slow machine, reproducibly — long tasks depend on the load average otherwise.
// Prints a table and adds the numbers to bench/results.json under "ui". What they mean: docs/performance.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from '@playwright/test';
import lz from 'lz-string';
import * as prettier from 'prettier';
import { bigScenario, frameStats, quantile, startFrames, stopFrames, type FrameStats } from './frames.ts';

const quick = process.argv.includes('--quick');
const CPU_THROTTLE = Number(
  /^--cpu-throttle=(\d+(?:\.\d+)?)$/.exec(
    process.argv.find((a) => a.startsWith('--cpu-throttle=')) ?? '',
  )?.[1] ?? 1,
);
const LOAD_RUNS = quick ? 3 : 7;
const PLAY_MS = quick ? 3000 : 6000;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const VITE = join(ROOT, 'node_modules', '.bin', 'vite');
const started = performance.now();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function runToEnd(cmd: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed (${code}):\n${err}`)),
    );
  });
}

async function waitForServer(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`vite preview exited (${child.exitCode})`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`vite preview did not answer at ${url}`);
}

/** Same browser as the e2e suite (playwright.config.ts). */
async function launch(): Promise<Browser> {
  const executablePath =
    process.env['PW_CHROMIUM_PATH'] ?? (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined);
  return chromium.launch({
    ...(executablePath ? { executablePath } : {}),
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/** The page's CSP forbids eval; the in-page probes are strings (see frames.ts), so the benchmark's pages
 *  bypass it — the app itself runs unchanged. */
const PAGE = { viewport: { width: 1440, height: 900 }, bypassCSP: true } as const;

interface LoadRun {
  /** Navigation start → first frame drawn with the packet on its first hop, playing. */
  readonly firstAnimatedMs: number;
  /** Navigation start → the current hop moved on for the first time (adds one hop of playback pacing). */
  readonly firstAdvanceMs: number;
  readonly longTasks: number;
  readonly longTaskMs: number;
}

/** Records, in the page, when the packet first appears while playing and when the current hop first changes. */
const LOAD_PROBE = `(() => {
  const w = window;
  w.__load = { firstAnimated: null, firstAdvance: null, long: [] };
  new PerformanceObserver((l) => { for (const e of l.getEntries()) w.__load.long.push(e.duration); })
    .observe({ type: 'longtask', buffered: true });
  let first = null;
  const check = () => {
    const L = w.__load;
    const playing = document.querySelector('button[aria-label="Pause"], button[title="Pause"]') !== null ||
      [...document.querySelectorAll('button')].some((b) => b.textContent && b.textContent.trim() === 'Pause');
    if (L.firstAnimated === null && playing && document.querySelector('svg.topology-overlay g.packet'))
      requestAnimationFrame(() => { if (L.firstAnimated === null) L.firstAnimated = performance.now(); });
    const cur = document.querySelector('li[aria-current="step"]');
    if (cur && first === null) first = cur;
    else if (cur && cur !== first && L.firstAdvance === null) L.firstAdvance = performance.now();
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true });
})();`;

async function measureLoad(browser: Browser, base: string): Promise<LoadRun> {
  const page = await browser.newPage(PAGE);
  await page.addInitScript(LOAD_PROBE);
  await page.goto(`${base}/?autoplay=1#v=1&s=default&w=pod-to-pod-cross-node`);
  await page.waitForFunction(
    'window.__load.firstAnimated !== null && window.__load.firstAdvance !== null',
    undefined,
    {
      timeout: 60_000,
    },
  );
  const r = await page.evaluate<{ firstAnimated: number; firstAdvance: number; long: number[] }>(
    '({ firstAnimated: window.__load.firstAnimated, firstAdvance: window.__load.firstAdvance, long: window.__load.long })',
  );
  await page.close();
  return {
    firstAnimatedMs: r.firstAnimated,
    firstAdvanceMs: r.firstAdvance,
    longTasks: r.long.length,
    longTaskMs: r.long.reduce((a, b) => a + b, 0),
  };
}

/** Plays the 1,000-pod walk at 4× for PLAY_MS and returns the frame statistics. */
async function measurePlayback(browser: Browser, base: string, collapsed: boolean): Promise<FrameStats> {
  const page: Page = await browser.newPage(PAGE);
  const link = `v=1&sc=${lz.compressToEncodedURIComponent(`${bigScenario(20, 50)}\u0000`)}&w=across`;
  await page.goto(`${base}/#${link}`);
  await page.getByRole('status', { name: 'Verdict' }).waitFor({ timeout: 120_000 });
  await page
    .getByRole('list', { name: 'Hops' })
    .getByRole('listitem')
    .last()
    .filter({ hasText: 'Delivered' })
    .waitFor({ timeout: 120_000 });
  const collapse = page.getByLabel('collapse uninvolved nodes');
  if ((await collapse.isChecked()) !== collapsed) await collapse.setChecked(collapsed);
  await page.keyboard.press('Home');
  await page.getByLabel('Speed').selectOption('4');
  if (CPU_THROTTLE !== 1)
    await (
      await page.context().newCDPSession(page)
    ).send('Emulation.setCPUThrottlingRate', {
      rate: CPU_THROTTLE,
    });
  await startFrames(page);
  await page.getByRole('button', { name: 'Play' }).click();
  await page.waitForTimeout(PLAY_MS);
  const frames = await stopFrames(page);
  await page.close();
  return frameStats(frames);
}

const round = (x: number): number => Math.round(x * 10) / 10;

const dist = mkdtempSync(join(os.tmpdir(), 'pw-bench-dist-'));
let preview: ChildProcess | null = null;
let browser: Browser | null = null;
try {
  const tBuild = performance.now();
  await runToEnd(VITE, ['build', '--outDir', dist, '--emptyOutDir', '--logLevel', 'error']);
  const buildMs = performance.now() - tBuild;
  const port = await freePort();
  preview = spawn(VITE, ['preview', '--outDir', dist, '--port', String(port), '--strictPort'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const base = `http://localhost:${port}`;
  await waitForServer(base, preview);
  browser = await launch();

  await measureLoad(browser, base); // warm-up: the first run also pays for the browser's own start
  const loads: LoadRun[] = [];
  for (let i = 0; i < LOAD_RUNS; i++) loads.push(await measureLoad(browser, base));
  const sortedBy = (f: (r: LoadRun) => number): number[] => loads.map(f).sort((a, b) => a - b);
  const firstAnimated = sortedBy((r) => r.firstAnimatedMs);
  const firstAdvance = sortedBy((r) => r.firstAdvanceMs);
  const loadLong = sortedBy((r) => r.longTaskMs);

  const all = await measurePlayback(browser, base, false);
  const collapsed = await measurePlayback(browser, base, true);

  const version = await browser.version();
  const rows: [string, string][] = [
    ['vite build (s)', (buildMs / 1000).toFixed(1)],
    [
      `load → first animated hop, median of ${LOAD_RUNS} (ms)`,
      firstAnimated.length ? round(quantile(firstAnimated, 0.5)).toString() : '-',
    ],
    ['  … min / max (ms)', `${round(firstAnimated[0]!)} / ${round(firstAnimated.at(-1)!)}`],
    ['load → first hop change at 1× (ms)', round(quantile(firstAdvance, 0.5)).toString()],
    ['long tasks during load, median total (ms)', round(quantile(loadLong, 0.5)).toString()],
    ...(
      [
        ['1,000 pods drawn', all],
        ['1,000 pods, collapsed', collapsed],
      ] as const
    ).flatMap(([what, s]): [string, string][] => [
      [`${what}, playing 4×: frames`, String(s.frames)],
      [
        `${what}: frame time median / p95 / max (ms)`,
        `${round(s.medianMs)} / ${round(s.p95Ms)} / ${round(s.maxMs)}`,
      ],
      [`${what}: frames over 20 ms`, String(s.over20)],
      [`${what}: long tasks (count, total ms)`, `${s.longTasks}, ${Math.round(s.longTaskMs)}`],
    ]),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const throttled = CPU_THROTTLE !== 1 ? `, playback with the CPU ${CPU_THROTTLE}x slower` : '';
  console.log(`\nUI in headless ${version} (${quick ? 'quick' : 'full'} run${throttled})`);
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);

  const out = join(ROOT, 'bench', 'results.json');
  const results = existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>) : {};
  const statsJson = (s: FrameStats) => ({
    frames: s.frames,
    medianMs: round(s.medianMs),
    p95Ms: round(s.p95Ms),
    maxMs: round(s.maxMs),
    over20: s.over20,
    longTasks: s.longTasks,
    longTaskMs: Math.round(s.longTaskMs),
  });
  results.ui = {
    generatedAt: new Date().toISOString(),
    quick,
    cpuThrottle: CPU_THROTTLE,
    browser: version,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    viteBuildMs: Math.round(buildMs),
    load: {
      runs: LOAD_RUNS,
      walk: 'default / pod-to-pod-cross-node, ?autoplay=1',
      firstAnimatedHopMs: {
        median: round(quantile(firstAnimated, 0.5)),
        min: round(firstAnimated[0]!),
        max: round(firstAnimated.at(-1)!),
      },
      firstHopChangeMs: { median: round(quantile(firstAdvance, 0.5)) },
      longTaskMs: { median: round(quantile(loadLong, 0.5)) },
    },
    playback: {
      scenario: '20 nodes x 50 pods, flannel-vxlan, walk p1-1 -> p20-50, speed 4x',
      playMs: PLAY_MS,
      allPods: statsJson(all),
      collapsed: statsJson(collapsed),
    },
    totalSeconds: round((performance.now() - started) / 1000),
  };
  const json = JSON.stringify(results, null, 2) + '\n';
  writeFileSync(out, await prettier.format(json, { ...(await prettier.resolveConfig(out)), filepath: out }));
  console.log(`wrote the "ui" numbers to ${out}`);
} finally {
  await browser?.close();
  if (preview && preview.exitCode === null) preview.kill('SIGTERM');
  rmSync(dist, { recursive: true, force: true });
}
