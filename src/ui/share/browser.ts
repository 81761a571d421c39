// The browser's side of sharing: the clipboard (with a fallback for browsers or frames without the async
// Clipboard API), downloads, and the current frame as an image. Standard DOM APIs only.

/** Copies `text`; true iff it reached the clipboard. Tries navigator.clipboard, then a hidden textarea and
 *  execCommand('copy') (older browsers, insecure origins, frames without clipboard-write). */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (typeof navigator !== 'undefined' && navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Denied or unavailable: fall back.
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  const focused = document.activeElement;
  area.select();
  let ok: boolean;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  if (focused instanceof HTMLElement) focused.focus();
  return ok;
}

/** Offers `blob` as a file download named `name`. */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  // Revoke later: some browsers start the download after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The picture of the topology, found through the DOM only (the canvas is another module's): an element
 *  marked data-testid="topology", else svg.topology, else canvas.topology. */
export function findTopology(root: ParentNode = document): Element | null {
  return (
    root.querySelector('[data-testid="topology"]') ??
    root.querySelector('svg.topology') ??
    root.querySelector('canvas.topology')
  );
}

export type FrameSource =
  | { readonly kind: 'svg'; readonly svg: SVGSVGElement }
  | {
      readonly kind: 'canvas';
      readonly canvases: readonly HTMLCanvasElement[];
      /** The element that draws the frame again as SVG when asked (FRAME_SVG_EVENT), if it can. */
      readonly svgFrame: Element | null;
    }
  | { readonly kind: 'none'; readonly why: string };

/**
 * Asked of the picture's element: the current frame as an SVG document. A CustomEvent whose listener answers
 * synchronously by setting `detail.svg` (canvas/TopologyCanvas.tsx draws the frame again with its own drawing
 * code into an SVG context); an element that answers is marked `data-svg-frame`.
 */
export const FRAME_SVG_EVENT = 'packetwalk:frame-svg';

export interface FrameSvgRequest {
  /** The colour behind the picture (the page's), for the document's background. */
  readonly background: string;
  /** The document's <title>. */
  readonly title: string;
  svg: string | null;
}

/** What the topology element offers to export. */
export function frameSource(el: Element | null): FrameSource {
  if (!el) return { kind: 'none', why: 'No topology picture on the page to export.' };
  if (el instanceof SVGSVGElement) return { kind: 'svg', svg: el };
  const svgFrame = el.hasAttribute('data-svg-frame') ? el : null;
  if (el instanceof HTMLCanvasElement) return { kind: 'canvas', canvases: [el], svgFrame };
  const svg = el.querySelector('svg');
  if (svg) return { kind: 'svg', svg };
  const canvases = [...el.querySelectorAll('canvas')];
  if (canvases.length > 0) return { kind: 'canvas', canvases, svgFrame };
  return { kind: 'none', why: 'The topology picture is neither SVG nor a canvas; it cannot be exported.' };
}

/** Whether the source can give an SVG: an SVG picture, or a canvas that draws its frame as SVG. */
export function hasSvg(source: FrameSource): boolean {
  return source.kind === 'svg' || (source.kind === 'canvas' && source.svgFrame !== null);
}

/** The frame as a standalone SVG document, or null when the source has none. */
export function frameSvgText(source: FrameSource, title: string): string | null {
  if (source.kind === 'svg') return svgText(source.svg);
  if (source.kind !== 'canvas' || !source.svgFrame) return null;
  const [first] = source.canvases;
  const detail: FrameSvgRequest = { background: first ? backgroundOf(first) : '#ffffff', title, svg: null };
  source.svgFrame.dispatchEvent(new CustomEvent(FRAME_SVG_EVENT, { detail }));
  return detail.svg;
}

/** The SVG as a standalone document: the page's style rules copied in (the picture is styled by class),
 *  its on-screen size as width/height. */
export function svgText(svg: SVGSVGElement): string {
  const copy = svg.cloneNode(true) as SVGSVGElement;
  copy.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  const box = svg.getBoundingClientRect();
  if (box.width > 0) copy.setAttribute('width', String(Math.round(box.width)));
  if (box.height > 0) copy.setAttribute('height', String(Math.round(box.height)));
  const rules: string[] = [];
  for (const sheet of Array.from(document.styleSheets)) {
    try {
      for (const rule of Array.from(sheet.cssRules)) rules.push(rule.cssText);
    } catch {
      // A cross-origin sheet: its rules cannot be read, and the picture does without them.
    }
  }
  const style = document.createElementNS('http://www.w3.org/2000/svg', 'style');
  // Text content, not markup: the rules come from our own sheets, and a <style> child is text anyway.
  style.textContent = rules.join('\n');
  copy.insertBefore(style, copy.firstChild);
  // The page's background, so the picture is not transparent where the page was not.
  copy.style.background =
    getComputedStyle(svg).backgroundColor || getComputedStyle(document.body).backgroundColor;
  return new XMLSerializer().serializeToString(copy);
}

/** The frame as a PNG. */
export async function pngOf(source: FrameSource): Promise<Blob> {
  if (source.kind === 'none') throw new Error(source.why);
  const scale = Math.min(2, Math.max(1, window.devicePixelRatio || 1));
  let canvas: HTMLCanvasElement;
  if (source.kind === 'canvas') {
    const [first] = source.canvases;
    if (!first) throw new Error('No canvas to export.');
    // Stacked layers (topology + packet): composite them in document order over the page's background
    // (the layers themselves are transparent).
    canvas = document.createElement('canvas');
    canvas.width = first.width;
    canvas.height = first.height;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('This browser cannot draw a canvas.');
    ctx.fillStyle = backgroundOf(first);
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    for (const layer of source.canvases) ctx.drawImage(layer, 0, 0, canvas.width, canvas.height);
  } else {
    const text = svgText(source.svg);
    const box = source.svg.getBoundingClientRect();
    const img = new Image();
    img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(text)}`;
    await img.decode();
    canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round((box.width || img.width) * scale));
    canvas.height = Math.max(1, Math.round((box.height || img.height) * scale));
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('This browser cannot draw a canvas.');
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  }
  return new Promise((resolve, reject) =>
    canvas.toBlob(
      (b) => (b ? resolve(b) : reject(new Error('The picture could not be encoded.'))),
      'image/png',
    ),
  );
}

/** The first opaque background behind `el`, else white. */
function backgroundOf(el: Element): string {
  for (let e: Element | null = el; e; e = e.parentElement) {
    const bg = getComputedStyle(e).backgroundColor;
    if (bg && bg !== 'transparent' && !/rgba\(.*,\s*0\)$/.test(bg)) return bg;
  }
  return '#ffffff';
}
