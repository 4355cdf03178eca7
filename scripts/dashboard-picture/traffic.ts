/**
 * Traffic for the dashboard picture, bounded in time: messages to the local run's four downstreams and its closed port at a steady
 * pace, with a few duplicates (accept outcome `existing`), invalid requests (`rejected 4xx`) and callbacks;
 * part-way through, the refusing downstream heals and a few of its dead letters are redriven one by one, so
 * redrives show and most dead letters are still waiting at the end.
 */
import type { LocalRun } from './local-run';

export interface TrafficOptions {
  durationMs: number;
  /** Messages a second. @defaultValue 4 */
  perSecond?: number;
  /** A line now and then. @defaultValue silent */
  log?: (line: string) => void;
}

export interface TrafficCounts {
  sent: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  redriven: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends the traffic and answers what the API said to it. */
export async function sendTraffic(run: LocalRun, options: TrafficOptions): Promise<TrafficCounts> {
  const { api, downstreams } = run;
  const perSecond = options.perSecond ?? 4;
  const counts: TrafficCounts = { sent: 0, accepted: 0, duplicates: 0, rejected: 0, redriven: 0 };
  const startedAt = Date.now();
  const refusedIds: string[] = [];
  let healed = false;
  const post = async (json: unknown) => {
    counts.sent += 1;
    const answer = await api.call('POST', '/v1/messages', { json });
    if (answer.status === 202) counts.accepted += 1;
    else if (answer.status === 200) counts.duplicates += 1;
    else if (answer.status >= 400 && answer.status < 500) counts.rejected += 1;
    else throw new Error(`POST /v1/messages answered ${answer.status}: ${answer.text}`);
    return answer.status;
  };
  for (let n = 0; Date.now() - startedAt < options.durationMs; n++) {
    const id = `dash-${startedAt.toString(36)}-${n}`;
    const pick = n % 20;
    const downstream =
      pick < 7 ? downstreams.fast : pick < 11 ? downstreams.slow : pick < 15 ? downstreams.flaky : downstreams.refusing;
    const message = {
      id,
      // One message in 20 goes where nothing listens.
      destination: { url: pick === 19 ? downstreams.closedUrl : downstream.url('/hook') },
      body: { n },
      ...(n % 5 === 0 ? { callback: { url: downstreams.fast.url('/callback') } } : {}),
    };
    await post(message);
    if (pick >= 15 && pick < 19 && !healed) refusedIds.push(id);
    if (n % 7 === 3) await post(message); // the same id and content again: `existing`
    if (n % 11 === 5) await post({ id: `${id}-bad`, body: { n } }); // no destination: rejected
    const elapsed = Date.now() - startedAt;
    if (!healed && elapsed > options.durationMs * 0.6) {
      healed = true;
      downstreams.refusing.heal();
      // A few of the dead letters so far, redriven; the rest stay waiting.
      for (const redriveId of refusedIds.slice(0, 3)) {
        const redrive = await api.call('POST', `/v1/dead-letters/${redriveId}/redrive`);
        if (redrive.status < 300) counts.redriven += 1;
      }
      options.log?.(`[dashboard] refusing downstream healed; ${counts.redriven} dead letters redriven`);
    }
    if (n % (perSecond * 10) === 0)
      options.log?.(`[dashboard] ${Math.round(elapsed / 1000)} s: ${JSON.stringify(counts)}`);
    await sleep(Math.max(0, startedAt + ((n + 1) * 1000) / perSecond - Date.now()));
  }
  return counts;
}
