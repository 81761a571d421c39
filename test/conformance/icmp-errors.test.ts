// ICMP errors byte for byte: for every walk of the built-in scenarios whose trace shows an ICMP error
// (fragmentation needed, redirect, unreachable...), the lab sends the walk's packet with exactly the bytes the
// pcapng export writes for it (a raw socket in the sender's namespace: a SYN may carry data, the echo keeps the
// engine's id), captures the kernel's error on every interface the trace shows it on, and compares it with the
// export's frame there, byte for byte: the quoted length (icmp_send quotes up to 576 bytes in all), the quoted
// header's TTL, the quoted checksums, the ICMP checksum, the error's own TOS, TTL and DF, addresses and MACs.
// Only what the kernel draws itself is apart: the error's IP ID (a per-boot keyed hash, __ip_select_ident), and
// so its header checksum, which must be valid on both sides; the kernel's ID must be the same on every hop.
//
// The recording is kept in test/fixtures/kernel-icmp-errors.json for test/pcapng.test.ts, which checks the
// export against it without a lab; this test checks that the recording still matches the kernel
// (`PWK_UPDATE_FIXTURES=1 npx vitest run test/conformance/icmp-errors.test.ts` rewrites it).
//
// Needs root and the lab's tools (see kernel.ts) and perl (its Socket module sends the raw packet).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { format, resolveConfig } from 'prettier';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FIXTURE,
  fromHex,
  frameDifferences,
  icmpErrorWalks,
  isIcmpErrorBytes,
  randomFullySources,
  readFixture,
  toHex,
  type IcmpErrorFixture,
  withKernelDraws,
  type RecordedWalk,
} from './icmpErrors.ts';
import {
  canRunKernelLab,
  canSendRaw,
  capturedFrames,
  cleanupStaleLabs,
  closeKernelLab,
  leftoverNamespaces,
  openKernelLab,
  realtimeNs,
  resetLabState,
  sendRawInLab,
  waitForFrame,
  type CapturedFrame,
  type KernelLab,
} from './kernel.ts';

const lab = canRunKernelLab();
const raw =
  lab.ok && !canSendRaw() ? 'kernel conformance of ICMP errors skipped: perl (Socket) is missing' : null;
const can = lab.ok && raw === null;
if (!lab.ok) console.warn(lab.reason);
if (raw) console.warn(raw);

const TIMEOUT = 60_000;
const walks = icmpErrorWalks();
const presets = [...new Set(walks.filter((w) => w.skip === null).map((w) => w.preset))];
const placeOf = (f: CapturedFrame): string => `${f.netns} ${f.direction} ${f.device}`;

const recorded = new Map<string, RecordedWalk>();
const key = (preset: string, walk: string): string => `${preset}/${walk}`;

describe.skipIf(!can)('ICMP errors: the kernel and the pcapng export, byte for byte', () => {
  beforeAll(() => {
    const stale = cleanupStaleLabs();
    if (stale.length) console.warn(`removed ${stale.length} stale lab namespaces: ${stale.join(' ')}`);
  });
  afterAll(async () => {
    expect(leftoverNamespaces(), 'lab namespaces left behind').toEqual([]);
    if (!process.env.PWK_UPDATE_FIXTURES) return;
    const fixture: IcmpErrorFixture = {
      comment:
        'The ICMP errors of the built-in scenarios as Linux sent them, recorded by test/conformance/icmp-errors.test.ts (PWK_UPDATE_FIXTURES=1) and compared with the pcapng export by test/pcapng.test.ts. Frames are hex, as captured by tcpdump; the IP ID of an error is the kernel\u2019s own draw.',
      kernel: spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim(),
      walks: walks.flatMap((w) => recorded.get(key(w.preset, w.walk)) ?? []),
      notRecorded: walks.flatMap((w) =>
        w.skip !== null ? [{ preset: w.preset, walk: w.walk, reason: w.skip }] : [],
      ),
    };
    const config = (await resolveConfig(FIXTURE)) ?? {};
    writeFileSync(FIXTURE, await format(JSON.stringify(fixture), { ...config, filepath: FIXTURE }));
    console.warn(`wrote ${FIXTURE}`);
  }, TIMEOUT);

  for (const preset of presets)
    describe(`preset ${preset}`, () => {
      let kl: KernelLab | null = null;
      let failed = false;
      let sent = 0;
      beforeAll(async () => {
        kl = await openKernelLab(walks.find((w) => w.preset === preset)!.world);
      }, TIMEOUT);
      afterAll(async () => {
        if (kl) await closeKernelLab(kl, failed);
      }, TIMEOUT);

      for (const w of walks.filter((x) => x.preset === preset && x.skip === null))
        it(
          `${w.walk}: ${w.errors.length} error frames (first at ${w.errors[0]!.at})`,
          async () => {
            try {
              if (!kl) throw new Error('the lab did not open');
              if (sent++ > 0) await resetLabState(kl);
              const from = realtimeNs() - 1_000_000n;
              await sendRawInLab(kl, w.sent.netns, w.sent.bytes.subarray(14));
              const last = w.errors.at(-1)!;
              await waitForFrame(
                kl,
                from,
                (f) => placeOf(f) === last.at && isIcmpErrorBytes(f.bytes, last.encapsulated),
              );
              const frames = capturedFrames(kl, from);

              // The packet left the sender as the export shows it (the raw socket kept the engine's bytes).
              const atSender = frames.filter((f) => placeOf(f) === w.sent.at).map((f) => toHex(f.bytes));
              expect(atSender, `the walk's packet at ${w.sent.at}`).toContain(toHex(w.sent.bytes));

              // The error at every place the trace shows it: the same bytes but the kernel's own IP ID.
              // Where the quote carries a port (or echo id) a --random-fully NAT drew, the kernel's draw is put
              // into the export's frame first (with the quoted checksum NAT updates along), and must be one draw.
              const random = randomFullySources(w.trace);
              const draws = new Set<string>();
              const kernelErrors: { at: string; bytes: Uint8Array }[] = [];
              const used = new Map<string, number>();
              for (const ours of w.errors) {
                const there = frames.filter(
                  (f) => placeOf(f) === ours.at && isIcmpErrorBytes(f.bytes, ours.encapsulated),
                );
                const n = used.get(ours.at) ?? 0;
                used.set(ours.at, n + 1);
                const k = there[n];
                expect(k, `the kernel's ICMP error at ${ours.at} (#${ours.seq})`).toBeDefined();
                const drawn = withKernelDraws(ours.bytes, k!.bytes, ours.encapsulated, random);
                expect(drawn.problems, `#${ours.seq} at ${ours.at}`).toEqual([]);
                for (const d of drawn.draws) draws.add(d);
                expect(
                  frameDifferences(drawn.frame, k!.bytes, ours.encapsulated),
                  `#${ours.seq} at ${ours.at}: export vs kernel`,
                ).toEqual([]);
                kernelErrors.push({ at: ours.at, bytes: Uint8Array.from(k!.bytes) });
              }
              // Nothing more: as many errors at each place as the trace shows.
              for (const [at, n] of used) {
                const enc = w.errors.find((e) => e.at === at)!.encapsulated;
                expect(
                  frames.filter((f) => placeOf(f) === at && isIcmpErrorBytes(f.bytes, enc)).length,
                  `ICMP errors at ${at}`,
                ).toBe(n);
              }
              // Forwarding keeps the IP ID: the kernel's draw is the same on every hop of one error message.
              const ipIdOf = (b: Uint8Array, enc: boolean) => toHex(b.subarray(enc ? 68 : 18, enc ? 70 : 20));
              const byMessage = new Map<string, Set<string>>();
              w.errors.forEach((e, i) => {
                const type = toHex(e.bytes.subarray(e.encapsulated ? 84 : 34, e.encapsulated ? 86 : 36));
                const ids = byMessage.get(type) ?? new Set<string>();
                ids.add(ipIdOf(kernelErrors[i]!.bytes, e.encapsulated));
                byMessage.set(type, ids);
              });
              for (const [type, ids] of byMessage)
                expect([...ids], `kernel IP IDs of ICMP ${type} along the path`).toHaveLength(1);
              const drawnIps = [...draws].map((d) => d.replace(/:\d+$/, ''));
              expect(drawnIps, 'one draw per NAT address along the path').toEqual([...new Set(drawnIps)]);

              const first = kernelErrors[0]!.bytes;
              const o = w.errors[0]!.encapsulated ? 50 : 0;
              const quoted = first.length - o - 42;
              console.info(
                `${w.preset}/${w.walk}: ICMP ${first[o + 34]}/${first[o + 35]} from ${[...first.subarray(o + 26, o + 30)].join('.')}` +
                  `, IP length ${(first[o + 16]! << 8) | first[o + 17]!}, TOS 0x${first[o + 15]!.toString(16)}, TTL ${first[o + 22]}` +
                  `, DF ${(first[o + 20]! & 0x40) !== 0 ? 1 : 0}; quotes ${quoted} of ${(first[o + 44]! << 8) | first[o + 45]!} bytes` +
                  ` (quoted TTL ${first[o + 50]}); ICMP checksum 0x${toHex(first.subarray(o + 36, o + 38))}` +
                  ` — equal to the export at ${w.errors.length} places`,
              );

              const rec: RecordedWalk = {
                preset: w.preset,
                walk: w.walk,
                sent: { at: w.sent.at, frame: toHex(w.sent.bytes) },
                errors: kernelErrors.map((e) => ({ at: e.at, frame: toHex(e.bytes) })),
              };
              recorded.set(key(w.preset, w.walk), rec);

              // The recording pcapng.test.ts checks the export against still says what the kernel does.
              if (!process.env.PWK_UPDATE_FIXTURES) {
                const fixture = readFixture().walks.find((x) => x.preset === w.preset && x.walk === w.walk);
                const hint = 'rerun with PWK_UPDATE_FIXTURES=1 to record it again';
                expect(fixture, `${key(w.preset, w.walk)} in ${FIXTURE}; ${hint}`).toBeDefined();
                expect(fixture!.sent, hint).toEqual(rec.sent);
                expect(
                  fixture!.errors.map((e) => e.at),
                  hint,
                ).toEqual(rec.errors.map((e) => e.at));
                fixture!.errors.forEach((e, i) => {
                  const enc = w.errors[i]!.encapsulated;
                  const again = withKernelDraws(fromHex(e.frame), kernelErrors[i]!.bytes, enc, random);
                  expect(
                    frameDifferences(again.frame, kernelErrors[i]!.bytes, enc),
                    `${e.at}: recording vs kernel; ${hint}`,
                  ).toEqual([]);
                });
              }
            } catch (e) {
              failed = true;
              throw e;
            }
          },
          TIMEOUT,
        );
    });
});
