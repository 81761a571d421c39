// Where a scenario issue is in the text. The parser (parse.ts) names a document, a field path and the line
// of the key; an editor needs a character range to underline. This module maps an issue's document and
// field path to the YAML node it names, with the yaml library's Document API, reading the text with the same
// options as parse.ts so that documents and nodes are the same ones. Pure and separate from the parser:
// the CLI and the engine never pay for it.
//
// What gets underlined, for an issue at `spec.ports[0].port`:
//   the whole `port: 70000` pair               the field exists and holds a scalar
//   the key `ports:`                           the field holds a mapping or a list (the key names it)
//   the deepest key that exists                the field is missing (`required`): its parent's key
//   the `kind: Deployment` pair                the issue is about a whole object (no field path)
//   the yaml library's own error range         YAML syntax errors
//   the line and column inside a Corefile      Corefile problems, when the Corefile is a `|` block
//   the first line of the text                 issues about the scenario as a whole ("no Node documents")
import { isMap, isNode, isScalar, isSeq, parseAllDocuments, Scalar, type Pair } from 'yaml';
import type { Path } from './allocate.ts';
import type { ScenarioIssue } from './parse.ts';

/** Character offsets into the text (UTF-16 code units, as JavaScript strings and CodeMirror count);
 *  `to` is exclusive. */
export interface TextRange {
  readonly from: number;
  readonly to: number;
}

/** The ranges of `issues` in `text`, one per issue, in order. Never throws; an issue that names nothing in
 *  the text is placed on the first line. */
export function locateIssues(text: string, issues: readonly ScenarioIssue[]): TextRange[] {
  if (issues.length === 0) return [];
  // The same options as parse.ts: another schema could split documents or nodes differently.
  const docs = parseAllDocuments(text, { prettyErrors: false, schema: 'core', uniqueKeys: true });
  const documents = Array.isArray(docs) ? docs : [];
  const usedYamlProblems = new Set<object>();
  return issues.map((issue) => {
    const doc = issue.document === null ? undefined : documents[issue.document - 1];
    if (!doc) return firstLine(text, 0);
    if (issue.path === '' && issue.message.startsWith('YAML: ')) {
      const problem = [...doc.errors, ...doc.warnings].find(
        (e) => !usedYamlProblems.has(e) && `YAML: ${e.message}` === issue.message,
      );
      if (problem) {
        usedYamlProblems.add(problem);
        return token(text, problem.pos[0], problem.pos[1]);
      }
    }
    const segments = parseIssuePath(issue.path);
    const found = locatePath(text, doc.contents, segments ?? [], issue.message);
    return found ?? firstLine(text, doc.range[0]);
  });
}

/** An issue's path ("spec.ports[0].port", 'metadata.labels["app.kubernetes.io/name"]') back into segments,
 *  the inverse of allocate.ts's formatPath; null when it is not such a path. */
export function parseIssuePath(path: string): Path | null {
  const out: (string | number)[] = [];
  const re = /(?:^|\.)([A-Za-z_$][\w$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  let at = 0;
  while (at < path.length) {
    re.lastIndex = at;
    const m = re.exec(path);
    if (!m) return null;
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(JSON.parse(m[3] ?? '""') as string);
    at = re.lastIndex;
  }
  return out;
}

/** Follows `path` from a document's root as far as the document goes, and returns the range to underline
 *  there (see the table above); null when the document has no content. */
function locatePath(text: string, root: unknown, path: Path, message: string): TextRange | null {
  if (!isNode(root) || !root.range) return null;
  let node: unknown = root;
  let range: TextRange = collectionStart(text, root.range[0], root.range[1]);
  let consumed = 0;
  let pair: Pair | null = null;
  for (const seg of path) {
    if (isMap(node)) {
      const found = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!found) break;
      pair = found;
      range = pairRange(text, found) ?? range;
      node = found.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item: unknown = node.items[seg];
      if (!isNode(item) || !item.range) break;
      pair = null;
      range = isScalar(item)
        ? widen(text, item.range[0], item.range[1])
        : collectionStart(text, item.range[0], item.range[1]);
      node = item;
    } else {
      break;
    }
    consumed++;
  }
  if (consumed < path.length) return range;
  // A whole object (a document, or an item of a List): its `kind` says which object.
  if (isMap(node) && (path.length === 0 || typeof path[path.length - 1] === 'number')) {
    const kind = node.items.find((p) => isScalar(p.key) && p.key.value === 'kind');
    if (kind) return pairRange(text, kind) ?? range;
  }
  return corefileLine(text, pair, node, message) ?? range;
}

/** `key: value` for a scalar value, the key alone for a collection (its key is the field's name). */
function pairRange(text: string, pair: Pair): TextRange | null {
  const key = pair.key;
  if (!isNode(key) || !key.range) return null;
  const value: unknown = pair.value;
  if (isNode(value) && value.range && !isMap(value) && !isSeq(value) && value.range[1] > key.range[0])
    return widen(text, key.range[0], value.range[1]);
  return widen(text, key.range[0], key.range[1]);
}

/** The first line of a collection: the whole of a one-line flow collection, the first entry of a block. */
function collectionStart(text: string, from: number, to: number): TextRange {
  const end = lineEnd(text, from);
  return widen(text, from, Math.min(to, end));
}

function firstLine(text: string, from: number): TextRange {
  let start = from;
  // Skip blank lines and comments (a document's range may start at `---` or at a comment).
  while (start < text.length) {
    const end = lineEnd(text, start);
    const line = text.slice(start, end).trim();
    if (line !== '' && !line.startsWith('#') && line !== '---') return { from: start, to: end };
    if (end >= text.length) break;
    start = end + 1;
  }
  return { from: Math.min(from, text.length), to: Math.min(lineEnd(text, from), text.length) };
}

/** A Corefile problem ("Corefile line 3, column 5: …", from coredns.ts's parser) inside a `|` block
 *  scalar: that line of the text, from the column on. Other scalar styles fold or escape lines, so their
 *  line numbers are not the text's; they keep the pair's range. */
function corefileLine(text: string, pair: Pair | null, node: unknown, message: string): TextRange | null {
  if (!pair || !isScalar(pair.key) || pair.key.value !== 'Corefile') return null;
  if (!isScalar(node) || node.type !== Scalar.BLOCK_LITERAL || !node.range) return null;
  const m = /^Corefile line (\d+)(?:, column (\d+))?:/.exec(message);
  if (!m) return null;
  const line = Number(m[1]);
  const column = m[2] === undefined ? null : Number(m[2]);
  // The block's content starts on the line after its `|` header; its indentation is not the Corefile's.
  let start = lineEnd(text, node.range[0]) + 1;
  let indent: number | null = null;
  for (let n = 1; start < node.range[1]; n++) {
    const end = lineEnd(text, start);
    const content = text.slice(start, end);
    if (indent === null && content.trim() !== '') indent = content.length - content.trimStart().length;
    if (n === line) {
      const lead = column === null ? content.length - content.trimStart().length : (indent ?? 0) + column - 1;
      return widen(text, start + Math.min(content.length, lead), end);
    }
    start = end + 1;
  }
  return null;
}

function lineEnd(text: string, from: number): number {
  const nl = text.indexOf('\n', from);
  return nl < 0 ? text.length : nl;
}

/** A YAML error's range; the yaml library often marks one character (a key's first letter, the space
 *  before a misplaced key): then the indentation and the token there, up to the end of the word. */
function token(text: string, from: number, to: number): TextRange {
  if (to - from > 1) return widen(text, from, to);
  if (from >= text.length || text[from] === '\n' || text[from] === '\r') {
    // At a line's end (a missing closing quote or bracket): the token the line ends with.
    let start = from;
    while (start > 0 && !/\s/.test(text[start - 1] ?? '')) start--;
    return widen(text, start, from);
  }
  let end = from;
  while (end < text.length && (text[end] === ' ' || text[end] === '\t')) end++;
  while (end < text.length && !/[\s:,{}[\]]/.test(text[end] ?? '')) end++;
  return widen(text, from, Math.max(end, to));
}

/** A range of at least one character where the text allows, so that an underline shows. */
function widen(text: string, from: number, to: number): TextRange {
  const f = Math.max(0, Math.min(from, text.length));
  const t = Math.max(f, Math.min(to, text.length));
  if (t > f) return { from: f, to: t };
  if (f < text.length && text[f] !== '\n') return { from: f, to: f + 1 };
  if (f > 0 && text[f - 1] !== '\n') return { from: f - 1, to: f };
  return { from: f, to: f };
}
