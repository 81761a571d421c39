// A fast reader for the YAML that kubectl prints (sigs.k8s.io/yaml, i.e. go-yaml v2's emitter): block
// mappings and sequences (items at the parent key's indentation or deeper), plain scalars resolved by the
// YAML 1.2 core schema, single- and double-quoted scalars, literal and folded block scalars, empty flow
// collections, comments and document markers. A 13 MB dump takes the `yaml` library tens of seconds and this
// reader well under one.
//
// Correctness rule: for any text it returns documents for, they equal what `parseAllDocuments(text,
// { schema: 'core' })` → `toJS()` gives. Anything else it throws UnsupportedYaml for, errors included: the
// caller then uses the `yaml` library, which reads the rest of YAML and names the line of an error.
// Pure: no DOM, no clock.

/** The text uses YAML this reader does not read (or is not valid YAML): use the `yaml` library instead. */
export class UnsupportedYaml extends Error {
  constructor(what: string) {
    super(`fast YAML reader: ${what}`);
    this.name = 'UnsupportedYaml';
  }
}

/** The documents of `text` as plain values, as the `yaml` library's core schema would give them. Throws
 *  UnsupportedYaml for anything outside the subset kubectl prints, and for invalid YAML. */
export function readKubectlYaml(text: string): unknown[] {
  return new Reader(text).stream();
}

const TAB = 9;
const NL = 10;
const SP = 32;
const DQ = 34;
const HASH = 35;
const SQ = 39;
const DASH = 45;
const DOT = 46;
const COLON = 58;
const BACKSLASH = 92;

/** Indentation of the "current line" at a document boundary (`---`, `...`) or the end of the input. */
const END = -1;

function unsupported(what: string): never {
  throw new UnsupportedYaml(what);
}

const isWs = (c: number): boolean => c === SP || c === TAB;

/** First characters that are not a plain scalar's (or mean one we leave to the `yaml` library): indicators
 *  for anchors, tags, aliases, directives, reserved characters, flow punctuation, explicit keys. */
const NOT_PLAIN_START = new Set([...'&*!%@`,[]{}|>\'"#?:'].map((c) => c.charCodeAt(0)));

// The core schema's plain scalar tags, in the order `yaml` tries them (its schema/core files).
const NULL_RE = /^(?:~|[Nn]ull|NULL)$/;
const BOOL_RE = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT_OCT_RE = /^0o[0-7]+$/;
const INT_RE = /^[-+]?[0-9]+$/;
const INT_HEX_RE = /^0x[0-9a-fA-F]+$/;
const FLOAT_NAN_RE = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP_RE = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT_RE = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

/** A plain scalar's value under the core schema (`s` is non-empty). */
export function resolvePlain(s: string): unknown {
  const c = s.charCodeAt(0);
  // Most scalars (names, labels, timestamps, IPs) start with a letter that no tag can match: skip the tests.
  if (c === 126 || c === 110 || c === 78) return NULL_RE.test(s) ? null : s; // ~ n N
  if (c === 116 || c === 84 || c === 102 || c === 70) return BOOL_RE.test(s) ? c === 116 || c === 84 : s; // t T f F
  if (!((c >= 48 && c <= 57) || c === DASH || c === 43 || c === DOT)) return s;
  if (INT_OCT_RE.test(s)) return parseInt(s.substring(2), 8);
  if (INT_RE.test(s)) return parseInt(s, 10);
  if (INT_HEX_RE.test(s)) return parseInt(s.substring(2), 16);
  if (FLOAT_NAN_RE.test(s)) {
    if (s.slice(-3).toLowerCase() === 'nan') return NaN;
    return s.charCodeAt(0) === DASH ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  if (FLOAT_EXP_RE.test(s) || FLOAT_RE.test(s)) return parseFloat(s);
  return s;
}

/** A mapping key as `yaml` makes it a JS object key: the resolved scalar, stringified (null → ''). */
function keyOf(raw: string): string {
  const v = raw === '' ? null : resolvePlain(raw);
  return v === null ? '' : typeof v === 'string' ? v : String(v);
}

const ESCAPES: Readonly<Record<string, string>> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  e: '\x1b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  N: '\u0085',
  _: '\u00a0',
  L: '\u2028',
  P: '\u2029',
  ' ': ' ',
  '"': '"',
  '/': '/',
  '\\': '\\',
  '\t': '\t',
};
const HEX_RE = /^[0-9a-fA-F]+$/;

type Obj = Record<string, unknown>;

class Reader {
  private readonly s: string;
  private readonly len: number;
  // The current line: it starts at `ls`, ends at `le` (its "\n" or the end of the input) and its content
  // starts at column `ind`; `ind` is END at a document marker or the end of the input. Blank lines and
  // comment lines are never current.
  private ls = 0;
  private le = 0;
  private ind = 0;
  /** A position handed back by key() (after the ":") and by the quoted scalars (after the closing quote). */
  private at = 0;

  constructor(text: string) {
    // CRLF is one line break in YAML; a lone CR (or a byte order mark) is left to the `yaml` library.
    if (text.includes('\r')) {
      text = text.replace(/\r\n/g, '\n');
      if (text.includes('\r')) unsupported('carriage return');
    }
    if (text.charCodeAt(0) === 0xfeff) unsupported('byte order mark');
    this.s = text;
    this.len = text.length;
  }

  stream(): unknown[] {
    const docs: unknown[] = [];
    this.seek(0);
    if (this.ls >= this.len) return docs;
    for (;;) {
      let explicit = false;
      if (this.ind === END && this.isMarker(this.ls, DASH)) {
        explicit = true;
        this.afterMarker();
      }
      if (this.ind === END) {
        // An empty document: `---` then nothing, `---` again or `...`.
        if (!explicit) unsupported('document end without a document');
        docs.push(null);
      } else {
        docs.push(this.node(-1));
        if (this.ind !== END) unsupported('content after the document');
      }
      if (this.ls >= this.len) return docs;
      if (this.isMarker(this.ls, DOT)) {
        this.afterMarker();
        if (this.ls >= this.len) return docs;
        if (!this.isMarker(this.ls, DASH)) unsupported('content after "..."');
      }
    }
  }

  /** Whether the line at `p` is the marker `---` (c = "-") or `...` (c = ".") alone or with a comment. */
  private isMarker(p: number, c: number): boolean {
    const s = this.s;
    if (s.charCodeAt(p) !== c || s.charCodeAt(p + 1) !== c || s.charCodeAt(p + 2) !== c) return false;
    return p + 3 >= this.len || isWs(s.charCodeAt(p + 3)) || s.charCodeAt(p + 3) === NL;
  }

  /** Past the marker line at `ls`, which may only carry a comment. */
  private afterMarker(): void {
    const rest = this.s.slice(this.ls + 3, this.le).trim();
    if (rest !== '' && !rest.startsWith('#')) unsupported('content on a document marker line');
    this.seek(this.le + 1);
  }

  /** Makes the first line from `from` (a line start) with content other than a comment current. */
  private seek(from: number): void {
    const s = this.s;
    const len = this.len;
    let p = from;
    while (p < len) {
      let q = p;
      while (s.charCodeAt(q) === SP) q++;
      const c = s.charCodeAt(q);
      if (c === NL) {
        p = q + 1;
        continue;
      }
      if (q >= len) break;
      if (c === TAB) unsupported('tab in indentation');
      let e = s.indexOf('\n', q);
      if (e < 0) e = len;
      if (c === HASH) {
        p = e + 1;
        continue;
      }
      this.ls = p;
      this.le = e;
      this.ind = q === p && (this.isMarker(p, DASH) || this.isMarker(p, DOT)) ? END : q - p;
      return;
    }
    this.ls = this.le = len;
    this.ind = END;
  }

  /** Whether `p` is a block sequence's "-" (followed by a space or the end of the line). */
  private isDash(p: number): boolean {
    if (this.s.charCodeAt(p) !== DASH) return false;
    const c = this.s.charCodeAt(p + 1);
    return p + 1 >= this.le || c === SP || c === TAB;
  }

  /** The node whose first line is the current one, more indented than its parent (`parent`). */
  private node(parent: number): unknown {
    const col = this.ind;
    const q = this.ls + col;
    if (this.isDash(q)) return this.sequence(col, q);
    if (this.isKeyLine(q)) return this.mapping(col, q);
    const c = this.s.charCodeAt(q);
    // | or >: a document that is one block scalar is fine; elsewhere kubectl puts them after the key.
    if (c === 124 || c === 62) return parent < 0 ? this.blockScalar(q, parent) : unsupported('block scalar');
    return this.scalar(q, parent);
  }

  /** Whether a mapping key starts at `p` in the current line: a plain or quoted scalar, then ": ". */
  private isKeyLine(p: number): boolean {
    const s = this.s;
    const le = this.le;
    const c = s.charCodeAt(p);
    if (c === DQ || c === SQ) {
      const end = this.quotedKeyEnd(p);
      return end >= 0 && s.charCodeAt(end) === COLON;
    }
    for (let q = p; q < le; q++) {
      const d = s.charCodeAt(q);
      if (d === COLON) {
        if (q + 1 >= le) return true;
        const n = s.charCodeAt(q + 1);
        if (n === SP || n === TAB) return true;
      } else if (isWs(d) && s.charCodeAt(q + 1) === HASH) return false;
    }
    return false;
  }

  /** The index after the closing quote of a one-line quoted scalar at `p`, or -1. */
  private quotedKeyEnd(p: number): number {
    const s = this.s;
    const quote = s.charCodeAt(p);
    for (let q = p + 1; q < this.le; q++) {
      const d = s.charCodeAt(q);
      if (quote === DQ && d === BACKSLASH) q++;
      else if (d === quote) {
        if (quote === SQ && s.charCodeAt(q + 1) === SQ) q++;
        else return q + 1;
      }
    }
    return -1;
  }

  /** A block mapping at column `col`; its first key starts at `p` in the current line. */
  private mapping(col: number, p: number): Obj {
    const obj: Obj = {};
    for (;;) {
      const key = this.key(p);
      // Any repeated key leaves: `yaml` reports duplicates, and keys that only collide once stringified
      // (1 and "1") would need its last-one-wins rule copied.
      if (Object.hasOwn(obj, key)) unsupported('duplicate key');
      if (key === '__proto__' || key === '<<') unsupported('special key');
      obj[key] = this.mapValue(this.at, col);
      if (this.ind !== col) {
        if (this.ind > col) unsupported('bad indentation');
        return obj;
      }
      p = this.ls + col;
    }
  }

  /** The key at `p` in the current line; sets `at` past its ":". */
  private key(p: number): string {
    const s = this.s;
    const le = this.le;
    const c = s.charCodeAt(p);
    if (c === DQ || c === SQ) {
      const end = this.quotedKeyEnd(p);
      if (end < 0 || s.charCodeAt(end) !== COLON) unsupported('quoted key');
      const n = s.charCodeAt(end + 1);
      if (!(end + 1 >= le || n === SP)) unsupported('quoted key');
      this.at = end + 1;
      const inner = s.slice(p + 1, end - 1);
      if (c === SQ) return inner.replace(/''/g, "'");
      return inner.includes('\\') ? this.escaped(inner) : inner;
    }
    if (NOT_PLAIN_START.has(c) || (c === DASH && this.isDash(p))) unsupported('key');
    for (let q = p; q < le; q++) {
      const d = s.charCodeAt(q);
      if (d === COLON) {
        const n = s.charCodeAt(q + 1);
        if (q + 1 >= le || n === SP) {
          let e = q;
          while (s.charCodeAt(e - 1) === SP) e--;
          if (e - p > 1000) unsupported('long key');
          this.at = q + 1;
          return keyOf(s.slice(p, e));
        }
        if (n === TAB) unsupported('tab');
      } else if (d === TAB) unsupported('tab');
      else if (d === SP && s.charCodeAt(q + 1) === HASH) break;
    }
    return unsupported('a line in a mapping that is not a key');
  }

  /** The value after a key's ":" (at `p`) in a mapping at column `col`. */
  private mapValue(p: number, col: number): unknown {
    const s = this.s;
    let q = p;
    while (s.charCodeAt(q) === SP) q++;
    if (s.charCodeAt(q) === TAB) unsupported('tab');
    if (q >= this.le || s.charCodeAt(q) === HASH) {
      this.seek(this.le + 1);
      if (this.ind > col) return this.node(col);
      // kubectl's style: a sequence value's "- " at the key's own indentation.
      if (this.ind === col && this.isDash(this.ls + col)) return this.sequence(col, this.ls + col);
      return null;
    }
    if (this.isDash(q)) unsupported('sequence on a key line');
    const c = s.charCodeAt(q);
    if (c === 124 || c === 62) return this.blockScalar(q, col);
    return this.scalar(q, col);
  }

  /** A block sequence at column `col`; its first "-" is at `p` in the current line. */
  private sequence(col: number, p: number): unknown[] {
    const s = this.s;
    const out: unknown[] = [];
    for (;;) {
      let q = p + 1;
      while (s.charCodeAt(q) === SP) q++;
      if (s.charCodeAt(q) === TAB) unsupported('tab');
      if (q >= this.le || s.charCodeAt(q) === HASH) {
        this.seek(this.le + 1);
        out.push(this.ind > col ? this.node(col) : null);
      } else if (this.isDash(q)) out.push(this.sequence(q - this.ls, q));
      else if (this.isKeyLine(q)) out.push(this.mapping(q - this.ls, q));
      else {
        const c = s.charCodeAt(q);
        out.push(c === 124 || c === 62 ? this.blockScalar(q, col) : this.scalar(q, col));
      }
      if (this.ind !== col) {
        if (this.ind > col) unsupported('bad indentation');
        return out;
      }
      p = this.ls + col;
      // A key at the sequence's column ends it (kubectl's style: the parent mapping goes on).
      if (!this.isDash(p)) return out;
    }
  }

  /** A flow or plain scalar (or an empty flow collection) at `p` in the current line, inside a block node at
   *  column `parent`; moves on to the next line with content. */
  private scalar(p: number, parent: number): unknown {
    const s = this.s;
    const c = s.charCodeAt(p);
    let v: unknown;
    let end: number;
    if (c === DQ || c === SQ) {
      v = c === DQ ? this.doubleQuoted(p, parent) : this.singleQuoted(p, parent);
      end = this.at;
    } else if (c === 91 || c === 123) {
      // [ {: only the empty collections go-yaml prints for empty lists and maps.
      const close = c === 91 ? 93 : 125;
      if (s.charCodeAt(p + 1) !== close) unsupported('flow collection');
      v = c === 91 ? [] : {};
      end = p + 2;
    } else {
      return this.plain(p, parent);
    }
    // Only a comment may follow on the (last) line.
    let le = s.indexOf('\n', end);
    if (le < 0) le = this.len;
    let q = end;
    while (s.charCodeAt(q) === SP) q++;
    if (q < le && !(s.charCodeAt(q) === HASH && q > end)) unsupported('text after a scalar');
    this.seek(le + 1);
    return v;
  }

  /** A plain scalar at `p`, possibly continued on more-indented lines. */
  private plain(p: number, parent: number): unknown {
    const s = this.s;
    const c = s.charCodeAt(p);
    // "-x" and ":x" are plain (an IPv6 "::1"); "- " is a sequence, which callers have ruled out.
    const colonPlain = c === COLON && !isWs(s.charCodeAt(p + 1)) && p + 1 < this.le;
    if ((NOT_PLAIN_START.has(c) && !colonPlain) || this.isDash(p)) unsupported('indicator');
    let e = this.plainLineEnd(p, this.le);
    let text = s.slice(p, e);
    let next = this.le + 1;
    // Continuation lines: more indented than the parent; blank lines between them fold to "\n" each.
    if (e === this.le) {
      let blanks = 0;
      let lineStart = next;
      while (lineStart < this.len) {
        let q = lineStart;
        while (s.charCodeAt(q) === SP) q++;
        const d = s.charCodeAt(q);
        if (d === NL) {
          blanks++;
          lineStart = q + 1;
          continue;
        }
        if (q >= this.len || q - lineStart <= parent || d === HASH) break;
        if (d === TAB) unsupported('tab');
        if (q === lineStart && (this.isMarker(q, DASH) || this.isMarker(q, DOT))) break;
        if (NOT_PLAIN_START.has(d)) unsupported('indicator on a continuation line');
        let le = s.indexOf('\n', q);
        if (le < 0) le = this.len;
        e = this.plainLineEnd(q, le);
        text += (blanks > 0 ? '\n'.repeat(blanks) : ' ') + s.slice(q, e);
        blanks = 0;
        next = lineStart = le + 1;
        if (e < le) break; // a comment ends the scalar
      }
    }
    this.seek(next);
    return resolvePlain(text);
  }

  /** Where the plain scalar text starting at `p` ends on its line (`le`): at a comment or the end, trailing
   *  white space left out. A ": " inside (a key where a value belongs) is not ours. */
  private plainLineEnd(p: number, le: number): number {
    const s = this.s;
    let last = p; // after the last non-space character
    for (let q = p; q < le; q++) {
      const d = s.charCodeAt(q);
      if (d === SP || d === TAB) {
        if (s.charCodeAt(q + 1) === HASH) break;
      } else {
        if (d === COLON && (q + 1 >= le || isWs(s.charCodeAt(q + 1)))) unsupported('":" in a plain scalar');
        last = q + 1;
      }
    }
    return last;
  }

  /** A double-quoted scalar at `p`; sets `at` past its closing quote. */
  private doubleQuoted(p: number, parent: number): string {
    const s = this.s;
    let out = '';
    let seg = p + 1;
    let q = seg;
    for (;;) {
      if (q >= this.len) unsupported('unterminated string');
      const d = s.charCodeAt(q);
      if (d === DQ) {
        out += s.slice(seg, q);
        break;
      }
      if (d === BACKSLASH) {
        out += s.slice(seg, q);
        const e = s[q + 1] ?? '';
        if (e === '\n') {
          // An escaped line break: nothing is added, the next line's leading white space is skipped.
          q += 2;
          while (isWs(s.charCodeAt(q))) q++;
          this.checkContinuation(q, parent);
          seg = q;
          continue;
        }
        const simple = ESCAPES[e];
        if (simple !== undefined) {
          out += simple;
          q += 2;
        } else {
          const n = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
          const hex = s.slice(q + 2, q + 2 + n);
          if (n === 0 || hex.length !== n || !HEX_RE.test(hex)) unsupported('escape');
          const code = parseInt(hex, 16);
          if (code > 0x10ffff) unsupported('escape');
          out += String.fromCodePoint(code);
          q += 2 + n;
        }
        seg = q;
        continue;
      }
      if (d === NL) {
        out += trimEndWs(s.slice(seg, q)) + this.fold(q, parent);
        q = this.at;
        seg = q;
        continue;
      }
      q++;
    }
    this.at = q + 1;
    return out;
  }

  /** A single-quoted scalar at `p`; sets `at` past its closing quote. */
  private singleQuoted(p: number, parent: number): string {
    const s = this.s;
    let out = '';
    let seg = p + 1;
    let q = seg;
    for (;;) {
      if (q >= this.len) unsupported('unterminated string');
      const d = s.charCodeAt(q);
      if (d === SQ) {
        out += s.slice(seg, q);
        if (s.charCodeAt(q + 1) !== SQ) break;
        out += "'";
        q += 2;
        seg = q;
        continue;
      }
      if (d === NL) {
        out += trimEndWs(s.slice(seg, q)) + this.fold(q, parent);
        q = this.at;
        seg = q;
        continue;
      }
      q++;
    }
    this.at = q + 1;
    return out;
  }

  /** The folding of the line break at `nl` inside a quoted scalar: " ", or "\n" for each blank line after
   *  it; sets `at` to the next content character. */
  private fold(nl: number, parent: number): string {
    const s = this.s;
    let q = nl + 1;
    let breaks = 0;
    for (;;) {
      const lineStart = q;
      while (s.charCodeAt(q) === SP) q++;
      if (s.charCodeAt(q) !== NL) {
        this.checkContinuation(q, parent, lineStart);
        break;
      }
      breaks++;
      q++;
    }
    this.at = q;
    return breaks === 0 ? ' ' : '\n'.repeat(breaks);
  }

  /** A quoted scalar's continuation line, content at `q`, must be inside its parent (more indented than
   *  it, no document marker, no tab in the indentation). */
  private checkContinuation(
    q: number,
    parent: number,
    lineStart = this.s.lastIndexOf('\n', q - 1) + 1,
  ): void {
    if (q >= this.len) unsupported('unterminated string');
    const s = this.s;
    // A tab before the text (or as its first character) is indentation or a blank line to `yaml`: left to it.
    for (let i = lineStart; i <= q; i++) if (s.charCodeAt(i) === TAB) unsupported('tab');
    if (q - lineStart <= parent) unsupported('continuation line not indented');
    if (q === lineStart && (this.isMarker(q, DASH) || this.isMarker(q, DOT)))
      unsupported('document marker in a string');
  }

  /** A block scalar (`|` or `>` at `p`) in a block node at column `parent`. */
  private blockScalar(p: number, parent: number): string {
    const s = this.s;
    const folded = s.charCodeAt(p) === 62;
    let chomp = 0; // -1 strip, 0 clip, 1 keep
    let explicit = 0;
    let q = p + 1;
    for (let i = 0; i < 2; i++) {
      const d = s.charCodeAt(q);
      if (d === DASH || d === 43) {
        if (chomp !== 0) unsupported('block scalar header');
        chomp = d === DASH ? -1 : 1;
        q++;
      } else if (d >= 49 && d <= 57) {
        if (explicit !== 0) unsupported('block scalar header');
        explicit = d - 48;
        q++;
      }
    }
    const headerEnd = q;
    while (s.charCodeAt(q) === SP) q++;
    if (q < this.le && !(s.charCodeAt(q) === HASH && q > headerEnd)) unsupported('block scalar header');

    // The lines: each is content (indented at least `indent`), blank, or the first line after the scalar.
    // An explicit indentation counts from the parent's column (a document's is 0).
    let indent = explicit > 0 ? Math.max(parent, 0) + explicit : -1;
    const lines: string[] = [];
    let text = false; // a line with more than spaces
    // A blank line with spaces beyond the indentation after the last text: whether `yaml` keeps its spaces
    // depends on where its lexer ends the scalar, which is not copied here.
    let spacesLast = false;
    let lineStart = this.le + 1;
    let maxBlank = 0;
    while (lineStart < this.len) {
      let r = lineStart;
      while (s.charCodeAt(r) === SP) r++;
      const sp = r - lineStart;
      const d = s.charCodeAt(r);
      if (r >= this.len || d === NL) {
        // A blank line: content when longer than the indentation (its extra spaces), else empty.
        if (indent >= 0 && sp > indent) {
          lines.push(s.slice(lineStart + indent, r));
          spacesLast = true;
        } else {
          if (indent < 0) maxBlank = Math.max(maxBlank, sp);
          lines.push('');
        }
        lineStart = r + 1;
        continue;
      }
      if (sp === 0 && (this.isMarker(lineStart, DASH) || this.isMarker(lineStart, DOT))) break;
      if (indent < 0) {
        if (sp <= parent) break;
        if (maxBlank > sp) unsupported('block scalar with more-indented leading blank lines');
        indent = sp;
      }
      if (sp < indent) {
        if (d === TAB) unsupported('tab');
        break;
      }
      let le = s.indexOf('\n', r);
      if (le < 0) le = this.len;
      lines.push(s.slice(lineStart + indent, le));
      text = true;
      spacesLast = false;
      lineStart = le + 1;
    }
    if (lineStart > this.len) lineStart = this.len;
    if (lineStart === this.len && s.charCodeAt(this.len - 1) !== NL && lines.length > 0) {
      // The input ends inside the scalar without a final line break: left to `yaml`.
      unsupported('block scalar at the end of the input');
    }
    // With no text at all, `yaml` gives "" whatever blank lines there are (and its kept line breaks for `|+`
    // follow a rule of their own: left to it).
    if (!text) {
      if (chomp > 0 && lines.length > 0) unsupported('kept empty block scalar');
      this.seek(lineStart);
      return '';
    }
    if (spacesLast) unsupported('trailing blank line with spaces in a block scalar');
    // Trailing empty lines are chomped; content lines are kept.
    let last = lines.length;
    while (last > 0 && lines[last - 1] === '') last--;
    const trailing = lines.length - last;
    let body: string;
    if (!folded) body = lines.slice(0, last).join('\n');
    else {
      body = '';
      let sep = '';
      let first = true;
      for (let i = 0; i < last; i++) {
        const line = lines[i]!;
        if (line === '') {
          sep += '\n';
          continue;
        }
        const c = line.charCodeAt(0);
        if (c === SP || c === TAB) unsupported('more-indented line in a folded scalar');
        body += first ? sep : sep === '' ? ' ' : sep;
        body += line;
        sep = '';
        first = false;
      }
    }
    if (last > 0) {
      if (chomp >= 0) body += '\n';
      if (chomp > 0) body += '\n'.repeat(trailing);
    } else if (chomp > 0) body = '\n'.repeat(trailing);
    this.seek(lineStart);
    return body;
  }

  /** A double-quoted key's text (between the quotes, one line) with its escapes resolved. */
  private escaped(inner: string): string {
    const sub = new Reader(`"${inner}"`);
    const v = sub.doubleQuoted(0, -1);
    if (sub.at !== inner.length + 2) unsupported('quoted key');
    return v;
  }
}

function trimEndWs(t: string): string {
  let e = t.length;
  while (e > 0 && isWs(t.charCodeAt(e - 1))) e--;
  return e === t.length ? t : t.slice(0, e);
}
