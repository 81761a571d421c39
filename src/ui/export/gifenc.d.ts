// Types for gifenc 1.x (github.com/mattdesl/gifenc), which ships none: the part the GIF export uses.
declare module 'gifenc' {
  export type Palette = number[][];
  export interface GifFrameOptions {
    /** A palette of [r, g, b] colours; required on the first frame (the global table), else a local one. */
    palette?: Palette;
    /** Frame delay in milliseconds (stored in 1/100 s). */
    delay?: number;
    /** -1 once, 0 forever, n: n extra times. */
    repeat?: number;
    transparent?: boolean;
    transparentIndex?: number;
    dispose?: number;
  }
  export interface GifEncoder {
    writeFrame(index: Uint8Array, width: number, height: number, opts?: GifFrameOptions): void;
    finish(): void;
    bytes(): Uint8Array;
  }
  export function GIFEncoder(opts?: { auto?: boolean; initialCapacity?: number }): GifEncoder;
  export function quantize(
    rgba: Uint8Array | Uint8ClampedArray,
    maxColors: number,
    opts?: { format?: 'rgb565' | 'rgb444' | 'rgba4444' },
  ): Palette;
  export function applyPalette(
    rgba: Uint8Array | Uint8ClampedArray,
    palette: Palette,
    format?: 'rgb565' | 'rgb444' | 'rgba4444',
  ): Uint8Array;
}
