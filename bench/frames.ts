// Measuring the UI in a real browser, shared by the UI benchmark (bench/ui.bench.ts) and the canvas e2e spec
// (which prints the numbers, never asserts them): requestAnimationFrame gaps and main-thread long tasks,
// recorded in the page, and the 1,000-pod scenario they are measured on.
import type { Page } from '@playwright/test';

// The in-page code is a string: tsx (the benchmark's runner) would otherwise wrap named functions in a
// `__name` helper that does not exist in the page. The app's CSP forbids evaluating strings, so a page that
// uses these needs `bypassCSP: true`.
const START = `(() => {
  const w = window;
  w.__frames = [];
  w.__long = [];
  w.__recording = true;
  new PerformanceObserver((list) => {
    if (w.__recording) for (const e of list.getEntries()) w.__long.push(e.duration);
  }).observe({ type: 'longtask' });
  const tick = (t) => {
    w.__frames.push(t);
    if (w.__recording) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})()`;

const STOP = `(() => {
  const w = window;
  w.__recording = false;
  return { gaps: w.__frames.slice(1).map((t, i) => t - w.__frames[i]), long: w.__long };
})()`;

/** Starts recording requestAnimationFrame timestamps, and long tasks (what blocks the main thread). */
export async function startFrames(page: Page): Promise<void> {
  await page.evaluate(START);
}

export interface Frames {
  /** Gaps between consecutive animation frames (ms). */
  readonly gaps: number[];
  /** Durations of the main thread's long tasks (> 50 ms each). */
  readonly long: number[];
}

/** Stops recording; the gaps between frames (ms) and the long tasks. */
export async function stopFrames(page: Page): Promise<Frames> {
  return page.evaluate<Frames>(STOP);
}

export interface FrameStats {
  readonly frames: number;
  readonly medianMs: number;
  readonly p95Ms: number;
  readonly maxMs: number;
  /** Frames slower than 20 ms (a dropped frame at 60 Hz, with slack). */
  readonly over20: number;
  readonly longTasks: number;
  readonly longTaskMs: number;
}

/** Nearest-rank quantile of an ascending list. */
export function quantile(sorted: readonly number[], f: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))] ?? NaN;
}

export function frameStats({ gaps, long }: Frames): FrameStats {
  const sorted = [...gaps].sort((a, b) => a - b);
  return {
    frames: gaps.length,
    medianMs: quantile(sorted, 0.5),
    p95Ms: quantile(sorted, 0.95),
    maxMs: gaps.length ? Math.max(...gaps) : NaN,
    over20: gaps.filter((g) => g > 20).length,
    longTasks: long.length,
    longTaskMs: long.reduce((a, b) => a + b, 0),
  };
}

export function describeFrames(what: string, s: FrameStats): string {
  return (
    `${what}: ${s.frames} frames; frame time median ${s.medianMs.toFixed(1)} ms, ` +
    `p95 ${s.p95Ms.toFixed(1)} ms, max ${s.maxMs.toFixed(1)} ms, ${s.over20} over 20 ms; ` +
    `${s.longTasks} long tasks, ${Math.round(s.longTaskMs)} ms in all`
  );
}

/** A flannel-VXLAN cluster of `nodes` × `pods` pods, and one walk ("across") from the first pod to the last. */
export function bigScenario(nodes: number, pods: number): string {
  const docs: string[] = [
    `apiVersion: packetwalk.dev/v1alpha1
kind: Cluster
metadata:
  name: big
spec:
  description: ${nodes} nodes x ${pods} pods, flannel VXLAN.
  cni: flannel-vxlan
  mtu: 1500
  clusterCIDR: 10.244.0.0/16
  serviceCIDR: 10.96.0.0/12
  nodeNetwork: 192.168.0.0/16
  walks:
    - name: across
      description: The first pod to the last, across the overlay.
      from: pod/default/p1-1
      to: pod/default/p${nodes}-${pods}:80
      protocol: tcp`,
  ];
  for (let n = 1; n <= nodes; n++) {
    docs.push(`apiVersion: v1
kind: Node
metadata:
  name: node-${n}
spec:
  podCIDR: 10.244.${n}.0/24
status:
  addresses:
    - { type: InternalIP, address: 192.168.1.${10 + n} }`);
    for (let p = 1; p <= pods; p++)
      docs.push(`apiVersion: v1
kind: Pod
metadata:
  name: p${n}-${p}
  namespace: default
spec:
  nodeName: node-${n}
  containers:
    - name: web
      image: nginx
      ports:
        - { containerPort: 80 }`);
  }
  return docs.join('\n---\n');
}
