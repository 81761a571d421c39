// The picture as SVG, drawn by the canvas's own code: a small implementation of the part of the 2D canvas API
// that drawTopology.ts and drawPacket.ts use (Draw2D), which writes SVG elements instead of pixels. Paths
// become <path> elements (in the canvas's pixel space: each point is transformed when it is added, as the
// canvas does), text becomes <text> — escaped, selectable, and sharp at any size on a slide.
//
// What it covers is what the picture needs: a transform of scale and translation (no rotation), paths of
// lines, rectangles, rounded rectangles and arcs, fill and stroke with dashes, caps and joins, global alpha,
// fillText/strokeText with the canvas's font shorthand, alignment, baselines and maxWidth, and a drop shadow.
// Not covered (the picture does not use them): gradients and patterns, clipping, images, curves, rotation.

/** The part of CanvasRenderingContext2D the picture is drawn with; a <canvas>'s 2D context is one. */
export interface Draw2D {
  fillStyle: string | CanvasGradient | CanvasPattern;
  strokeStyle: string | CanvasGradient | CanvasPattern;
  lineWidth: number;
  lineCap: CanvasLineCap;
  lineJoin: CanvasLineJoin;
  globalAlpha: number;
  font: string;
  textAlign: CanvasTextAlign;
  textBaseline: CanvasTextBaseline;
  shadowColor: string;
  shadowBlur: number;
  save(): void;
  restore(): void;
  setTransform(a: number, b: number, c: number, d: number, e: number, f: number): void;
  translate(x: number, y: number): void;
  clearRect(x: number, y: number, w: number, h: number): void;
  beginPath(): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  rect(x: number, y: number, w: number, h: number): void;
  roundRect(x: number, y: number, w: number, h: number, radius?: number): void;
  arc(x: number, y: number, radius: number, startAngle: number, endAngle: number): void;
  fill(): void;
  stroke(): void;
  setLineDash(segments: number[]): void;
  fillText(text: string, x: number, y: number, maxWidth?: number): void;
  strokeText(text: string, x: number, y: number, maxWidth?: number): void;
  measureText(text: string): { readonly width: number };
}

/** Measures text in a canvas font ("600 14px system-ui"): a real canvas's measureText in the browser. */
export interface MeasureText {
  /** The advance width of `text`. */
  width(font: string, text: string): number;
  /** How far below the line a `baseline` names the alphabetic baseline lies, in the font's pixels; null when
   *  unknown (then the SVG says dominant-baseline and leaves it to the renderer). */
  alphabeticBelow(font: string, baseline: CanvasTextBaseline): number | null;
}

/** Without a canvas (Node): the font's size times an average advance (0.6 em, a monospace's). */
export const estimateText: MeasureText = {
  width: (font, text) => (parseFont(font)?.size ?? 10) * 0.6 * text.length,
  alphabeticBelow: (_font, baseline) => (baseline === 'alphabetic' ? 0 : null),
};

/** A measurer backed by one off-screen canvas, or the estimate where there is none. The baseline comes from
 *  the canvas's TextMetrics.alphabeticBaseline, so an SVG renderer need not agree with the canvas on where
 *  "middle" is: every <text> is placed on its alphabetic baseline, as the canvas drew it. */
export function canvasMeasure(): MeasureText {
  const ctx = typeof document !== 'undefined' ? document.createElement('canvas').getContext('2d') : null;
  if (!ctx) return estimateText;
  return {
    width(font, text) {
      ctx.font = font;
      return ctx.measureText(text).width;
    },
    alphabeticBelow(font, baseline) {
      ctx.font = font;
      ctx.textBaseline = baseline;
      const below = ctx.measureText('x').alphabeticBaseline as number | undefined;
      return typeof below === 'number' && Number.isFinite(below) ? -below : null;
    },
  };
}

interface State {
  fillStyle: string;
  strokeStyle: string;
  lineWidth: number;
  lineCap: CanvasLineCap;
  lineJoin: CanvasLineJoin;
  globalAlpha: number;
  font: string;
  textAlign: CanvasTextAlign;
  textBaseline: CanvasTextBaseline;
  shadowColor: string;
  shadowBlur: number;
  dash: number[];
  /** x' = k·x + e, y' = k·y + f (uniform scale and translation). */
  k: number;
  e: number;
  f: number;
}

const INITIAL: State = {
  fillStyle: '#000',
  strokeStyle: '#000',
  lineWidth: 1,
  lineCap: 'butt',
  lineJoin: 'miter',
  globalAlpha: 1,
  font: '10px sans-serif',
  textAlign: 'start',
  textBaseline: 'alphabetic',
  shadowColor: 'rgb(0 0 0 / 0%)',
  shadowBlur: 0,
  dash: [],
  k: 1,
  e: 0,
  f: 0,
};

/** Escapes text for XML content and double-quoted attribute values. */
export function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const num = (n: number): string => String(Math.round(n * 100) / 100);

/** The canvas font shorthand the picture uses: [style] [weight] <size>px <family>. */
export function parseFont(
  font: string,
): { style: string; weight: string; size: number; family: string } | null {
  const m =
    /^\s*(?:(italic|oblique|normal)\s+)?(?:(normal|bold|bolder|lighter|\d{3})\s+)?(\d+(?:\.\d+)?)px\s+(.+)$/.exec(
      font,
    );
  if (!m) return null;
  return { style: m[1] ?? 'normal', weight: m[2] ?? 'normal', size: Number(m[3]), family: m[4]!.trim() };
}

const ANCHOR: Record<CanvasTextAlign, string> = {
  start: 'start',
  left: 'start',
  center: 'middle',
  right: 'end',
  end: 'end',
};

const BASELINE: Record<CanvasTextBaseline, string | null> = {
  alphabetic: null,
  ideographic: 'ideographic',
  bottom: 'text-after-edge',
  top: 'text-before-edge',
  hanging: 'hanging',
  middle: 'central',
};

/** A Draw2D that writes SVG elements; `body()` is what was drawn since the last full clear. */
export class SvgContext implements Draw2D {
  private s: State = { ...INITIAL };
  private readonly stack: State[] = [];
  private path = '';
  private elements: string[] = [];
  private readonly shadows = new Map<string, string>();

  constructor(
    readonly width: number,
    readonly height: number,
    private readonly measure: MeasureText = estimateText,
    /** Prefix of the ids this context defines (filters), unique within a document. */
    private readonly idPrefix = 'pw',
  ) {}

  get fillStyle(): string {
    return this.s.fillStyle;
  }
  set fillStyle(v: string | CanvasGradient | CanvasPattern) {
    if (typeof v === 'string') this.s.fillStyle = v;
  }
  get strokeStyle(): string {
    return this.s.strokeStyle;
  }
  set strokeStyle(v: string | CanvasGradient | CanvasPattern) {
    if (typeof v === 'string') this.s.strokeStyle = v;
  }
  get lineWidth(): number {
    return this.s.lineWidth;
  }
  set lineWidth(v: number) {
    this.s.lineWidth = v;
  }
  get lineCap(): CanvasLineCap {
    return this.s.lineCap;
  }
  set lineCap(v: CanvasLineCap) {
    this.s.lineCap = v;
  }
  get lineJoin(): CanvasLineJoin {
    return this.s.lineJoin;
  }
  set lineJoin(v: CanvasLineJoin) {
    this.s.lineJoin = v;
  }
  get globalAlpha(): number {
    return this.s.globalAlpha;
  }
  set globalAlpha(v: number) {
    this.s.globalAlpha = v;
  }
  get font(): string {
    return this.s.font;
  }
  set font(v: string) {
    this.s.font = v;
  }
  get textAlign(): CanvasTextAlign {
    return this.s.textAlign;
  }
  set textAlign(v: CanvasTextAlign) {
    this.s.textAlign = v;
  }
  get textBaseline(): CanvasTextBaseline {
    return this.s.textBaseline;
  }
  set textBaseline(v: CanvasTextBaseline) {
    this.s.textBaseline = v;
  }
  get shadowColor(): string {
    return this.s.shadowColor;
  }
  set shadowColor(v: string) {
    this.s.shadowColor = v;
  }
  get shadowBlur(): number {
    return this.s.shadowBlur;
  }
  set shadowBlur(v: number) {
    this.s.shadowBlur = v;
  }

  save(): void {
    this.stack.push({ ...this.s, dash: [...this.s.dash] });
  }
  restore(): void {
    const top = this.stack.pop();
    if (top) this.s = top;
  }
  setTransform(a: number, _b: number, _c: number, _d: number, e: number, f: number): void {
    this.s.k = a;
    this.s.e = e;
    this.s.f = f;
  }
  translate(x: number, y: number): void {
    this.s.e += this.s.k * x;
    this.s.f += this.s.k * y;
  }
  /** A clear of the whole canvas forgets what was drawn (a layer starts again); a partial one is not
   *  needed by the picture and does nothing. */
  clearRect(x: number, y: number, w: number, h: number): void {
    const [x0, y0] = this.at(x, y);
    if (x0 <= 0 && y0 <= 0 && x0 + w * this.s.k >= this.width && y0 + h * this.s.k >= this.height)
      this.elements = [];
  }
  setLineDash(segments: number[]): void {
    this.s.dash = [...segments];
  }

  beginPath(): void {
    this.path = '';
  }
  moveTo(x: number, y: number): void {
    const [px, py] = this.at(x, y);
    this.path += `M${num(px)} ${num(py)}`;
  }
  lineTo(x: number, y: number): void {
    const [px, py] = this.at(x, y);
    this.path += `${this.path ? 'L' : 'M'}${num(px)} ${num(py)}`;
  }
  rect(x: number, y: number, w: number, h: number): void {
    const [px, py] = this.at(x, y);
    const k = this.s.k;
    this.path += `M${num(px)} ${num(py)}h${num(w * k)}v${num(h * k)}h${num(-w * k)}Z`;
  }
  roundRect(x: number, y: number, w: number, h: number, radius = 0): void {
    const k = this.s.k;
    const [px, py] = this.at(x, y);
    const W = w * k;
    const H = h * k;
    const r = Math.max(0, Math.min(radius * k, W / 2, H / 2));
    if (r === 0) return this.rect(x, y, w, h);
    const a = `a${num(r)} ${num(r)} 0 0 1`;
    this.path +=
      `M${num(px + r)} ${num(py)}h${num(W - 2 * r)}${a} ${num(r)} ${num(r)}` +
      `v${num(H - 2 * r)}${a} ${num(-r)} ${num(r)}h${num(-(W - 2 * r))}${a} ${num(-r)} ${num(-r)}` +
      `v${num(-(H - 2 * r))}${a} ${num(r)} ${num(-r)}Z`;
  }
  /** A clockwise arc; a full turn (the markers' circles) as two half arcs, which SVG can draw. */
  arc(x: number, y: number, radius: number, startAngle: number, endAngle: number): void {
    const [cx, cy] = this.at(x, y);
    const r = radius * this.s.k;
    const point = (t: number) => `${num(cx + r * Math.cos(t))} ${num(cy + r * Math.sin(t))}`;
    const sweep = endAngle - startAngle;
    this.path += `${this.path ? 'L' : 'M'}${point(startAngle)}`;
    if (sweep >= Math.PI * 2 - 1e-9) {
      const mid = startAngle + Math.PI;
      this.path += `A${num(r)} ${num(r)} 0 0 1 ${point(mid)}A${num(r)} ${num(r)} 0 0 1 ${point(startAngle)}`;
    } else {
      const large = sweep > Math.PI ? 1 : 0;
      this.path += `A${num(r)} ${num(r)} 0 ${large} 1 ${point(endAngle)}`;
    }
  }

  fill(): void {
    if (!this.path) return;
    this.elements.push(
      `<path d="${this.path}" fill="${xmlEscape(this.s.fillStyle)}"${this.alpha()}${this.shadow()}/>`,
    );
  }
  stroke(): void {
    if (!this.path) return;
    this.elements.push(`<path d="${this.path}" fill="none"${this.strokeAttrs()}${this.alpha()}/>`);
  }

  fillText(text: string, x: number, y: number, maxWidth?: number): void {
    this.text(text, x, y, maxWidth, ` fill="${xmlEscape(this.s.fillStyle)}"`);
  }
  strokeText(text: string, x: number, y: number, maxWidth?: number): void {
    this.text(text, x, y, maxWidth, ` fill="none"${this.strokeAttrs()}`);
  }
  measureText(text: string): { readonly width: number } {
    return { width: this.measure.width(this.s.font, text) };
  }

  /** The elements drawn since the last full clear, and the filters they use. */
  body(): string {
    return [...this.shadows.values(), ...this.elements].join('\n');
  }

  private at(x: number, y: number): [number, number] {
    return [this.s.k * x + this.s.e, this.s.k * y + this.s.f];
  }

  private alpha(): string {
    return this.s.globalAlpha < 1 ? ` opacity="${num(this.s.globalAlpha)}"` : '';
  }

  private strokeAttrs(): string {
    const k = this.s.k;
    let a = ` stroke="${xmlEscape(this.s.strokeStyle)}" stroke-width="${num(this.s.lineWidth * k)}"`;
    if (this.s.lineCap !== 'butt') a += ` stroke-linecap="${this.s.lineCap}"`;
    if (this.s.lineJoin !== 'miter') a += ` stroke-linejoin="${this.s.lineJoin}"`;
    if (this.s.dash.length > 0) a += ` stroke-dasharray="${this.s.dash.map((d) => num(d * k)).join(' ')}"`;
    return a;
  }

  /** A drop shadow as an SVG filter, defined once per colour and blur. */
  private shadow(): string {
    const { shadowBlur: blur, shadowColor: colour } = this.s;
    if (blur <= 0 || /^(transparent|rgba?\(.*[,/]\s*0%?\s*\))$/.test(colour)) return '';
    const key = `${colour}|${blur}`;
    let id = this.shadows.get(key)?.match(/id="([^"]+)"/)?.[1];
    if (!id) {
      id = `${this.idPrefix}-shadow-${this.shadows.size}`;
      // The canvas's shadowBlur is about twice the Gaussian's standard deviation.
      this.shadows.set(
        key,
        `<filter id="${id}" x="-20%" y="-20%" width="140%" height="140%"><feDropShadow dx="0" dy="0" ` +
          `stdDeviation="${num(blur / 2)}" flood-color="${xmlEscape(colour)}"/></filter>`,
      );
    }
    return ` filter="url(#${id})"`;
  }

  private text(text: string, x: number, y: number, maxWidth: number | undefined, paint: string): void {
    const [px, py] = this.at(x, y);
    const k = this.s.k;
    const font = parseFont(this.s.font);
    // On the canvas's own alphabetic baseline where the measurer knows it (see canvasMeasure).
    const below = this.measure.alphabeticBelow(this.s.font, this.s.textBaseline);
    let attrs = ` x="${num(px)}" y="${num(py + (below ?? 0) * k)}"`;
    if (font) {
      attrs += ` font-size="${num(font.size * k)}" font-family="${xmlEscape(font.family)}"`;
      if (font.weight !== 'normal') attrs += ` font-weight="${font.weight}"`;
      if (font.style !== 'normal') attrs += ` font-style="${font.style}"`;
    }
    const anchor = ANCHOR[this.s.textAlign];
    if (anchor !== 'start') attrs += ` text-anchor="${anchor}"`;
    const baseline = below === null ? BASELINE[this.s.textBaseline] : null;
    if (baseline) attrs += ` dominant-baseline="${baseline}"`;
    // The canvas narrows text wider than maxWidth to fit; so does textLength.
    if (maxWidth !== undefined && this.measure.width(this.s.font, text) > maxWidth)
      attrs += ` textLength="${num(maxWidth * k)}" lengthAdjust="spacingAndGlyphs"`;
    this.elements.push(`<text${attrs}${paint}${this.alpha()}>${xmlEscape(text)}</text>`);
  }
}

/** A standalone SVG document of `layers` (SvgContext bodies, bottom first) over `background`: `width` ×
 *  `height` on the page, drawn in a `viewWidth` × `viewHeight` pixel space (the canvas's device pixels). */
export function svgDocument(o: {
  width: number;
  height: number;
  viewWidth?: number;
  viewHeight?: number;
  background: string;
  title: string;
  layers: readonly string[];
}): string {
  const w = num(o.width);
  const h = num(o.height);
  const box = `0 0 ${num(o.viewWidth ?? o.width)} ${num(o.viewHeight ?? o.height)}`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="${box}">\n` +
    `<title>${xmlEscape(o.title)}</title>\n` +
    `<rect width="100%" height="100%" fill="${xmlEscape(o.background)}"/>\n` +
    o.layers.map((l) => `<g>\n${l}\n</g>`).join('\n') +
    '\n</svg>\n'
  );
}
