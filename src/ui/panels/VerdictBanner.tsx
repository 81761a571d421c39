// What has happened to the packet so far, in words. The headline is the first verdict that is not
// "Delivered" (an ICMP error delivered back to the sender does not make the walk a success), else
// "Delivered" once the current leg arrived, else "In flight"; below it, every leg reached so far.
import { useTranslation } from 'react-i18next';
import type { TraceEvent, Verdict } from '../../engine/trace.ts';
import { useAppState, useCursor } from '../context.ts';
import { SUCCESS_VERDICTS, legKinds, legLabel, shownNumber, verdictLabel, verdictText } from '../present.ts';

const NO_EVENTS: readonly TraceEvent[] = [];

export function VerdictBanner() {
  const { t } = useTranslation();
  const events = useAppState((s) => s.run?.events ?? NO_EVENTS);
  const run = useAppState((s) => s.run);
  const cursor = useCursor();
  const current = events[cursor];

  let text: string;
  let tone: 'ok' | 'bad' | 'neutral' = 'neutral';
  let detail = '';
  if (!run) text = t('verdict.starting');
  else if (!current) text = run.error ? t('verdict.notStarted') : t('verdict.walking');
  else {
    const kinds = legKinds(events);
    // A CNI walk has no leg events: its one leg is the ADD or the DEL.
    if (events[0]?.type === 'cni') kinds.set(0, events[0].command === 'ADD' ? 'cni-add' : 'cni-del');
    const reached = new Map<number, Verdict>();
    for (let i = 0; i <= cursor; i++) {
      const e = events[i];
      if (e?.type === 'verdict') reached.set(e.leg, e.verdict);
    }
    const failed = [...reached.values()].find((v) => !SUCCESS_VERDICTS.has(v.kind));
    const done = reached.get(current.leg);
    if (failed) {
      text = verdictText(failed, t);
      tone = 'bad';
    } else if (done) {
      // A CNI walk's end says what the pod got ("Pod network ready: eth0 10.244.1.3/24, …").
      text = done.kind === 'delivered' ? verdictLabel('delivered', t) : verdictText(done, t);
      tone = 'ok';
    } else
      text =
        current.type === 'cni'
          ? t('verdict.cniStep', {
              leg: legLabel(kinds.get(current.leg) ?? 'request', t),
              n: shownNumber(cursor),
            })
          : t('verdict.inFlight');
    const legs = [...new Set(events.slice(0, cursor + 1).map((e) => e.leg))];
    detail = legs
      .map((leg) => {
        const v = reached.get(leg);
        const still = kinds.get(leg)?.startsWith('cni')
          ? t('verdict.inProgressLower')
          : t('verdict.inFlightLower');
        return t('verdict.legStatus', {
          leg: legLabel(kinds.get(leg) ?? 'request', t),
          status: v ? verdictLabel(v.kind, t) : still,
        });
      })
      .join(' · ');
  }

  return (
    <div className={`verdict verdict--${tone}`} role="status" aria-label={t('verdict.label')}>
      <strong className="verdict-text">{text}</strong>
      {detail ? <span className="verdict-detail">{detail}</span> : null}
    </div>
  );
}
