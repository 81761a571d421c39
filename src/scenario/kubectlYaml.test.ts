import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify, type ToStringOptions } from 'yaml';
import { generateKubectlDump } from '../../bench/kubectlDump.ts';
import { readKubectlDump } from './importKubectl.ts';
import { readKubectlYaml, UnsupportedYaml } from './kubectlYaml.ts';

/** What the importer did before the fast reader, and still does when it gives up: the reference. */
function reference(text: string): unknown[] | 'error' {
  const docs = parseAllDocuments(text, { schema: 'core' });
  if (docs.some((d) => d.errors.length > 0)) return 'error';
  return docs.map((d) => d.toJS({ maxAliasCount: 100 }));
}

/** The fast reader's documents, or 'unsupported'; any other exception fails the test. */
function fast(text: string): unknown[] | 'unsupported' {
  try {
    return readKubectlYaml(text);
  } catch (e) {
    if (e instanceof UnsupportedYaml) return 'unsupported';
    throw e;
  }
}

/** The rule: the fast reader gives up, or gives exactly what `yaml` gives (and never reads an error). */
function agrees(text: string): 'read' | 'unsupported' {
  const f = fast(text);
  if (f === 'unsupported') return f;
  const r = reference(text);
  expect(r, `yaml finds an error the fast reader read past in ${JSON.stringify(text)}`).not.toBe('error');
  expect(f, JSON.stringify(text)).toStrictEqual(r);
  return 'read';
}

/** A small seeded PRNG (mulberry32): the random cases are the same on every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STYLES: readonly ToStringOptions[] = [
  {},
  // kubectl's (go-yaml's) layout: a sequence's "- " at its key's indentation.
  { indentSeq: false },
  { indentSeq: false, lineWidth: 40, minContentWidth: 0 },
  { indent: 4 },
  { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' },
  { defaultStringType: 'QUOTE_SINGLE', indentSeq: false },
  { defaultStringType: 'BLOCK_LITERAL' },
  { defaultStringType: 'BLOCK_FOLDED', lineWidth: 30, minContentWidth: 0 },
  { doubleQuotedAsJSON: true, lineWidth: 25, minContentWidth: 0 },
];

describe('readKubectlYaml: the benchmark dump', () => {
  const dump = generateKubectlDump({ nodes: 4, pods: 40, replicas: 2 });

  it.each(STYLES.map((o) => [JSON.stringify(o), o] as const))(
    'stringified with %s reads as yaml reads it',
    (_, o) => {
      const text = stringify(dump, o);
      const docs = fast(text);
      expect(docs).not.toBe('unsupported');
      expect(docs).toStrictEqual([dump]);
      expect(docs).toStrictEqual(reference(text));
    },
  );

  it('imports the same from -o yaml as from -o json', () => {
    const fromJson = readKubectlDump(JSON.stringify(dump, null, 4));
    const fromYaml = readKubectlDump(stringify(dump, { indentSeq: false }));
    expect(fromJson.ok && fromYaml.ok).toBe(true);
    if (!fromJson.ok || !fromYaml.ok) return;
    expect({ ...fromYaml, text: '' }).toStrictEqual({ ...fromJson, text: '' });
  });
});

// Written as go-yaml v2 (kubectl) prints, plus the scalar forms YAML allows there.
const KUBECTL = `apiVersion: v1
items:
- apiVersion: v1
  kind: Pod
  metadata:
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: |
        {"apiVersion":"v1","kind":"Pod","metadata":{"annotations":{},"name":"web","namespace":"default"}}
      note: 'it''s: fine # not a comment'
      url: http://example.com:8080/a#b
      empty-dq: ""
      empty-sq: ''
      dq: "tab\\there \\u00e9\\x41 \\"q\\" \\\\ \\/ \\0 end\\U0001F600"
      long: this is a long plain scalar that go-yaml folds at eighty columns, so it goes
        on the next line, indented
      long-sq: 'a single-quoted value long enough to be folded by the emitter onto
        a second line, and ''quotes'''
      long-dq: "a double-quoted value that continues \\
        with an escaped line break,\\n a newline and a folded

        blank line"
      trailing: value with trailing spaces   
      comment: value # a comment
    creationTimestamp: "2026-11-20T09:12:44Z"
    labels:
      app: web
      kubernetes.io/hostname: node-1
      version: "1.0"
      replicas: '123'
      enabled: "true"
      nothing: 'null'
    name: web
    namespace: default
  spec:
    containers:
    - args:
      - --port=8080
      - -v
      - a#b
      - a # comment
      - ::1
      command: []
      env: {}
      image: registry.k8s.io/pause:3.9
      ports:
      - containerPort: 8080
        protocol: TCP
    nodeName: node-1
  status:
    podIP: 10.244.1.5
    podIPs:
      - ip: 10.244.1.5
"quoted key": 1
'single key': 2
"key\\twith escape": 3
scalars:
  empty:
  tilde: ~
  null-lower: null
  null-title: Null
  null-upper: NULL
  true-lower: true
  true-title: True
  true-upper: TRUE
  false-title: False
  yes: yes
  on: on
  int: -12
  plus: +7
  leading-zero: 012
  hex: 0x1F
  oct: 0o17
  float: 1.5
  float-dot: 1.
  float-lead: .5
  exp: 1e3
  inf: .inf
  minus-inf: -.Inf
  nan: .nan
  underscore: 1_000
  date: 2026-11-20
  ip: 10.0.0.1
  dash: -x
  dots: a.b.c
blocks:
  literal: |
    line 1
      indented
    line 3
  strip: |-
    no newline
  keep: |+
    kept

  folded: >
    folded
    lines

    paragraph
  folded-strip: >-
    folded
    strip
  explicit: |2
      two leading spaces
  explicit-strip: |2-
     one leading space
  seq:
  - |
    item
  - >-
    folded item
...
---
# a second document, with a comment
kind: Service
metadata: {name: ignored}
`;

describe('readKubectlYaml: kubectl-style fixtures', () => {
  it('reads every form as yaml reads it', () => {
    // The flow mapping in the second document is beyond the reader: it gives up on the whole text.
    expect(fast(KUBECTL)).toBe('unsupported');
    const text = KUBECTL.replace('metadata: {name: ignored}', 'metadata:\n  name: ignored');
    expect(agrees(text)).toBe('read');
  });

  it('resolves scalars as the core schema does', () => {
    const [doc] = readKubectlYaml(KUBECTL.replace(/\.\.\.\n---[^]*$/, '')) as [Record<string, unknown>];
    const item = (doc['items'] as Record<string, Record<string, Record<string, unknown>>>[])[0]!;
    const ann = item['metadata']!['annotations'] as Record<string, unknown>;
    expect(ann['kubectl.kubernetes.io/last-applied-configuration']).toBe(
      '{"apiVersion":"v1","kind":"Pod","metadata":{"annotations":{},"name":"web","namespace":"default"}}\n',
    );
    expect(ann['note']).toBe("it's: fine # not a comment");
    expect(ann['url']).toBe('http://example.com:8080/a#b');
    expect(ann['dq']).toBe('tab\there éA "q" \\ / \0 end😀');
    expect(ann['long']).toBe(
      'this is a long plain scalar that go-yaml folds at eighty columns, so it goes on the next line, indented',
    );
    expect(ann['long-sq']).toBe(
      "a single-quoted value long enough to be folded by the emitter onto a second line, and 'quotes'",
    );
    expect(ann['long-dq']).toBe(
      'a double-quoted value that continues with an escaped line break,\n a newline and a folded\nblank line',
    );
    expect(ann['trailing']).toBe('value with trailing spaces');
    expect(ann['comment']).toBe('value');
    expect(item['metadata']!['labels']).toStrictEqual({
      app: 'web',
      'kubernetes.io/hostname': 'node-1',
      version: '1.0',
      replicas: '123',
      enabled: 'true',
      nothing: 'null',
    });
    const args = (item['spec']!['containers'] as unknown as Record<string, unknown>[])[0]!['args'];
    expect(args).toStrictEqual(['--port=8080', '-v', 'a#b', 'a', '::1']);
    expect(doc['quoted key']).toBe(1);
    expect(doc['key\twith escape']).toBe(3);
    expect(doc['scalars']).toStrictEqual({
      empty: null,
      tilde: null,
      'null-lower': null,
      'null-title': null,
      'null-upper': null,
      'true-lower': true,
      'true-title': true,
      'true-upper': true,
      'false-title': false,
      yes: 'yes',
      on: 'on',
      int: -12,
      plus: 7,
      'leading-zero': 12,
      hex: 31,
      oct: 15,
      float: 1.5,
      'float-dot': 1,
      'float-lead': 0.5,
      exp: 1000,
      inf: Infinity,
      'minus-inf': -Infinity,
      nan: NaN,
      underscore: '1_000',
      date: '2026-11-20',
      ip: '10.0.0.1',
      dash: '-x',
      dots: 'a.b.c',
    });
    expect(doc['blocks']).toStrictEqual({
      literal: 'line 1\n  indented\nline 3\n',
      strip: 'no newline',
      keep: 'kept\n\n',
      folded: 'folded lines\nparagraph\n',
      'folded-strip': 'folded strip',
      explicit: '  two leading spaces\n',
      'explicit-strip': ' one leading space',
      seq: ['item\n', 'folded item'],
    });
  });

  it('reads managedFields keys (plain, with ":", "{" and quotes in them) and go-yaml lists', () => {
    const text = `metadata:
  managedFields:
  - apiVersion: v1
    fieldsV1:
      f:status:
        f:conditions:
          k:{"type":"Ready"}:
            .: {}
            f:lastProbeTime: {}
    manager: kubelet
    time: "2026-11-20T09:12:44Z"
spec:
  containers:
  - command:
    - /bin/sh
    - -c
    - |
      echo "hello"; sleep 3600
    env:
    - name: JAVA_OPTS
      value: -Xmx512m -Dfoo=bar
    - name: EMPTY
    resources: {}
`;
    expect(agrees(text)).toBe('read');
    const [doc] = readKubectlYaml(text) as [{ metadata: { managedFields: { fieldsV1: unknown }[] } }];
    expect(doc.metadata.managedFields[0]!.fieldsV1).toStrictEqual({
      'f:status': { 'f:conditions': { 'k:{"type":"Ready"}': { '.': {}, 'f:lastProbeTime': {} } } },
    });
  });

  it('reads documents and markers as yaml does', () => {
    for (const text of [
      '',
      '# only a comment\n',
      '---\n',
      '---\n---\n',
      'a: 1\n---\n',
      'a: 1\n...\n',
      'a: 1\n...\n---\nb: 2\n',
      '--- # comment\na: 1\n',
      'a: 1\n---\n# c\n',
      '- a\n- b\n',
      'just a scalar\n',
      '"quoted"\n',
      '|\n  block\n',
      'a: 1\r\nb:\r\n- x\r\n',
      'a:\n- - x\n  - y\n- z\n',
      'a:\n  -\n    b: 1\n  -\n  - c\n',
      '  indented: root\n  b: 2\n',
      'a: b\n  # an indented comment ends a plain scalar\nc: d\n',
      'a:\n- b\n  # comment\n- c\n',
    ])
      expect(agrees(text), JSON.stringify(text)).toBe('read');
    expect(readKubectlYaml('a: 1\n---\nb: 2\n')).toStrictEqual([{ a: 1 }, { b: 2 }]);
  });
});

describe('readKubectlYaml: texts the random tests once caught it misreading', () => {
  it.each([
    // Block scalars with blank lines only: "" however many spaces those lines have.
    ['- |2-\n  \n   \n- x0: n\n'],
    ['|1-\n  \n\n'],
    ['a: |+\n\nb: 1\n'],
    // A trailing blank line with spaces beyond the indentation.
    ['a:\n- |2-\n    x\n   \n- y\n'],
    ['a: |\n x\n    \n'],
    // A tab on a quoted scalar's blank line.
    ["- '~|\"\n\n\t\n  '\n  "],
    ["'a\n\t\n b'\n"],
  ])('%j', (text) => {
    agrees(text);
  });
});

describe('readKubectlYaml: what it leaves to the yaml library', () => {
  it.each([
    ['an anchor and alias', 'a: &x 1\nb: *x\n'],
    ['a tag', 'a: !!str 1\n'],
    ['a tab as indentation', 'a:\n\tb: 1\n'],
    ['a duplicate key', 'a: 1\na: 2\n'],
    ['keys that collide once stringified', '1: a\n"1": b\n'],
    ['bad indentation', 'a:\n  b: 1\n c: 2\n'],
    ['a complex key', '? a\n: b\n'],
    ['a directive', '%YAML 1.2\n---\na: 1\n'],
    ['a flow collection with items', 'a: [1, 2]\n'],
    ['an unterminated string', 'a: "b\n'],
    ['a mapping on a value line', 'a: b: c\n'],
    ['a merge key', '<<: {}\n'],
    ['a comment inside a plain scalar', 'a: b\n# c\n  d\n'],
    ['a lone carriage return', 'a: 1\rb: 2\n'],
  ])('%s', (_, text) => {
    expect(fast(text)).toBe('unsupported');
  });

  it('the importer still reads what the fast reader leaves (an anchor)', () => {
    const pod = (name: string, ip: string) =>
      `- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: ${name}\n    namespace: default\n  spec:\n    nodeName: n1\n  status:\n    phase: Running\n    podIP: ${ip}\n`;
    const node =
      '- apiVersion: v1\n  kind: Node\n  metadata:\n    name: n1\n  spec:\n    podCIDR: 10.244.1.0/24\n  status:\n    addresses:\n    - address: 10.0.0.10\n      type: InternalIP\n';
    const plain = `apiVersion: v1\nkind: List\nitems:\n${node}${pod('a', '10.244.1.5')}${pod('b', '10.244.1.6')}`;
    const anchored = plain
      .replace('    namespace: default\n', '    namespace: &ns default\n')
      .replace(/namespace: default\n(?![^]*namespace: &)/, 'namespace: *ns\n');
    expect(fast(anchored)).toBe('unsupported');
    const a = readKubectlDump(anchored);
    const b = readKubectlDump(plain);
    expect(a.ok && b.ok).toBe(true);
    if (a.ok && b.ok) expect(a.kept).toStrictEqual(b.kept);
  });

  it('a broken file still gets its line-numbered YAML error', () => {
    const text = 'apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  metadata:\n    name: a\n   bad: 1\n';
    expect(fast(text)).toBe('unsupported');
    const r = readKubectlDump(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.length).toBeGreaterThan(0);
    expect(r.errors[0]!.message).toMatch(/^YAML: /);
    expect(r.errors[0]!.line).toBe(7);
  });
});

describe('readKubectlYaml: random values, as yaml writes them', () => {
  const PIECES = [
    ...[
      'a',
      'b',
      'key',
      'x y',
      ' ',
      '  ',
      ':',
      ': ',
      '#',
      ' #',
      "'",
      '"',
      '\\',
      '\n',
      '\n\n',
      '\t',
      '-',
      '- ',
    ],
    ...['?', '!', '&', '*', '|', '>', '{', '}', '[', ']', ',', '%', '@', '`', 'é', '世界', '😀', '\u2028'],
    ...['null', 'true', 'False', '~', '0x1F', '0o17', '1e3', '.inf', '-.5', '12', '007', '+1', '---', '...'],
    ...['kubernetes.io/hostname', '10.0.0.1', '::1', '\u0085', '\u00a0', '\x07'],
  ];
  const KEYS = ['apiVersion', 'kind', 'metadata', 'a.b/c', 'name', 'x'];

  function randomValue(rnd: () => number): unknown {
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
    const text = (): string => Array.from({ length: Math.floor(rnd() * 5) }, () => pick(PIECES)).join('');
    const value = (depth: number): unknown => {
      const r = rnd();
      if (depth > 3 || r < 0.5) {
        const t = rnd();
        if (t < 0.55) return text();
        if (t < 0.7) return Math.floor(rnd() * 2000 - 1000);
        if (t < 0.75) return rnd() * 100;
        if (t < 0.85) return rnd() < 0.5;
        return null;
      }
      if (r < 0.75) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(rnd() * 4); i > 0; i--)
        o[rnd() < 0.7 ? `${pick(KEYS)}${i}` : text()] = value(depth + 1);
      return o;
    };
    return value(0);
  }

  it('reads most of them, and each one it reads as yaml does', () => {
    const rnd = prng(20261122);
    let read = 0;
    const n = 1500;
    for (let i = 0; i < n; i++) {
      const text = stringify(randomValue(rnd), STYLES[Math.floor(rnd() * STYLES.length)]);
      if (agrees(text) === 'read') read++;
    }
    // Giving up is always correct, so it must not be what makes this test pass.
    expect(read / n).toBeGreaterThan(0.9);
  });

  it('never reads a damaged text differently (or reads an error)', () => {
    const rnd = prng(7);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
    const inserts = [
      ' ',
      '  ',
      '\n',
      ':',
      '-',
      '#',
      "'",
      '"',
      '\t',
      '|',
      'x',
      '\n  ',
      '- ',
      ': ',
      '---\n',
      '\\',
    ];
    const bases = [
      KUBECTL.replace('metadata: {name: ignored}', 'metadata:\n  name: ignored'),
      // Block scalars, multi-line quoted and plain scalars, close together.
      "a:\n- |2-\n    x\n   y\n\n- >\n  f\n  g\n\n  h\nb: 'q\n  r''s\n\n  t'\nc: \"d\\\n  e\\tf\n\n  g\"\nd: plain\n  more\n\n  more\n",
      'items:\n- k: |+\n    x\n\n  l: |-\n     y\n  m:\n  - 1\n  - ~\n  - ""\n---\nz: {}\n...\n',
    ];
    let read = 0;
    const n = 3000;
    for (let i = 0; i < n; i++) {
      let text = i % 2 === 0 ? pick(bases) : stringify(randomValue(rnd), pick(STYLES));
      for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) {
        const at = Math.floor(rnd() * (text.length + 1));
        const t = rnd();
        if (t < 0.5) text = text.slice(0, at) + pick(inserts) + text.slice(at);
        else if (t < 0.8) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(rnd() * 3));
        else text = text.slice(0, at) + pick(inserts) + text.slice(at + 1);
      }
      if (agrees(text) === 'read') read++;
    }
    // Many damaged texts are still valid YAML: some must be read, or this test proves nothing.
    expect(read).toBeGreaterThan(n / 4);
  });
});
