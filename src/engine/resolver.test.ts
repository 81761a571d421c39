import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  afterAnswer,
  formatResolvConf,
  podResolvConf,
  resolverOptions,
  searchCandidates,
  type ResolvConf,
} from './resolver.ts';
import { pod, threeNodes } from '../../test/fixtures/models.ts';
import type { PodModel } from '../scenario/model.ts';

// glibc's search order, from resolv/res_query.c (__res_context_search), as worked examples.
const examples = JSON.parse(
  readFileSync(new URL('../../test/fixtures/resolver/glibc-search-order.json', import.meta.url), 'utf8'),
) as {
  resolv_conf: string;
  order: Record<string, string[]>;
  order_with_host_search_domain: Record<string, string[]>;
};

function parseConf(text: string): ResolvConf {
  const lines = text.split('\n').map((l) => l.trim().split(/\s+/));
  return {
    nameservers: lines.filter((l) => l[0] === 'nameserver').map((l) => l[1]!),
    searches: lines.find((l) => l[0] === 'search')?.slice(1) ?? [],
    options: lines.find((l) => l[0] === 'options')?.slice(1) ?? [],
  };
}

describe('glibc search order (resolv_search_examples)', () => {
  const conf = parseConf(examples.resolv_conf);
  it.each(Object.entries(examples.order))('%s', (name, expected) => {
    expect(searchCandidates(name, conf, 'glibc')).toEqual(expected);
  });
  const withHost: ResolvConf = { ...conf, searches: [...conf.searches, 'us-east-1.compute.internal'] };
  it.each(Object.entries(examples.order_with_host_search_domain))(
    '%s with the node search domain',
    (name, expected) => {
      expect(searchCandidates(name, withHost, 'glibc')).toEqual(expected);
    },
  );
  it('covers every example of the fixture', () => {
    expect(Object.keys(examples.order)).toHaveLength(8);
  });
});

describe('musl search order', () => {
  const conf = parseConf(examples.resolv_conf);
  it('a name with ndots or more dots is only tried as-is (no search at all)', () => {
    expect(searchCandidates('a.b.c.d.e.f', conf, 'musl')).toEqual(['a.b.c.d.e.f.']);
  });
  it('a short name tries the search list, then itself', () => {
    expect(searchCandidates('web', conf, 'musl')).toEqual([
      'web.default.svc.cluster.local.',
      'web.svc.cluster.local.',
      'web.cluster.local.',
      'web.',
    ]);
  });
  it('musl stops at NODATA where glibc moves on', () => {
    expect(afterAnswer('glibc', 'NOERROR', false)).toBe('next');
    expect(afterAnswer('musl', 'NOERROR', false)).toBe('fail');
    expect(afterAnswer('musl', 'NXDOMAIN', false)).toBe('next');
    expect(afterAnswer('glibc', 'REFUSED', false)).toBe('fail');
    expect(afterAnswer('glibc', 'NOERROR', true)).toBe('use');
  });
});

describe('kubelet resolv.conf', () => {
  const model = {
    ...threeNodes(),
    nodeResolvConf: { nameservers: ['203.0.113.53'], searches: ['us-east-1.compute.internal'], options: [] },
  };
  const base = pod('prod', 'api', 'node-1', '10.244.1.9');
  it('ClusterFirst: cluster DNS, the namespace search list then the node’s, ndots:5', () => {
    const { conf } = podResolvConf(model, base);
    expect(formatResolvConf(conf)).toBe(
      'search prod.svc.cluster.local svc.cluster.local cluster.local us-east-1.compute.internal\n' +
        'nameserver 10.96.0.10\noptions ndots:5\n',
    );
    expect(resolverOptions(conf)).toEqual({ ndots: 5, timeout: 5, attempts: 2 });
  });
  it('hostNetwork + ClusterFirst falls back to the node’s resolv.conf; ClusterFirstWithHostNet does not', () => {
    const hostNet: PodModel = { ...base, hostNetwork: true };
    expect(podResolvConf(model, hostNet).conf.nameservers).toEqual(['203.0.113.53']);
    expect(
      podResolvConf(model, { ...hostNet, dnsPolicy: 'ClusterFirstWithHostNet' }).conf.nameservers,
    ).toEqual(['10.96.0.10']);
  });
  it('Default: the node’s file; None: dnsConfig only; dnsConfig merges without duplicates, options by name', () => {
    expect(podResolvConf(model, { ...base, dnsPolicy: 'Default' }).conf).toEqual(model.nodeResolvConf);
    const none = podResolvConf(model, {
      ...base,
      dnsPolicy: 'None',
      dnsConfig: {
        nameservers: ['1.2.3.4'],
        searches: ['my.dns.search.suffix'],
        options: [{ name: 'ndots', value: '2' }],
      },
    });
    expect(formatResolvConf(none.conf)).toBe(
      'search my.dns.search.suffix\nnameserver 1.2.3.4\noptions ndots:2\n',
    );
    const merged = podResolvConf(model, {
      ...base,
      dnsConfig: {
        nameservers: ['10.96.0.10', '1.2.3.4', '1.2.3.5', '1.2.3.6'],
        searches: ['cluster.local', 'extra.example'],
        options: [
          { name: 'ndots', value: '2' },
          { name: 'edns0', value: null },
        ],
      },
    }).conf;
    expect(merged.nameservers).toEqual(['10.96.0.10', '1.2.3.4', '1.2.3.5']);
    expect(merged.searches.at(-1)).toBe('extra.example');
    expect(merged.searches.filter((s) => s === 'cluster.local')).toHaveLength(1);
    expect(merged.options).toEqual(['ndots:2', 'edns0']);
  });
});
