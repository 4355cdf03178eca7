/**
 * GET /v1/activity against a real Herald: every minute of the window, oldest first, with the events of
 * each state in it from the event log; a sender key counts its own messages; a bad window is a 400.
 */
import { API_KEY, OTHER_API_KEY, type TestApi } from '../helpers/api';
import { startFixture, type HeraldFixture } from '../helpers/fixture';
import { uniqueId } from '../helpers/herald';

interface Activity {
  from: string;
  to: string;
  minutes: { minute: string; counts: Record<string, number> }[];
}

let fixture: HeraldFixture;
let api: TestApi;

beforeAll(async () => {
  fixture = await startFixture({
    api: true,
    // A sender key beside an unscoped one: the sender's counts are its own.
    env: { HERALD_API_KEYS: `tests:${API_KEY},shop:${OTHER_API_KEY}:sender` },
  });
  ({ api } = fixture);
});
afterAll(() => fixture.close());

const total = (activity: Activity, state: string) =>
  activity.minutes.reduce((sum, minute) => sum + (minute.counts[state] ?? 0), 0);

test('every minute of the window, with each state counted; a sender counts its own', async () => {
  const mine = uniqueId('activity');
  const sent = await api.call('POST', '/v1/messages', {
    json: { id: mine, destination: { url: fixture.downstream.url(`/${mine}`) } },
    headers: { authorization: `Bearer ${OTHER_API_KEY}` },
  });
  expect(sent.status).toBe(202);
  const theirs = uniqueId('activity');
  await api.call('POST', '/v1/messages', { json: { id: theirs, destination: { url: fixture.downstream.url('/x') } } });
  await fixture.herald.waitForState(mine, 'delivered');
  await fixture.herald.waitForState(theirs, 'delivered');
  // The delivered event is written from the run's close, a moment after the status says so.
  let all: Activity | undefined;
  for (let i = 0; i < 50; i += 1) {
    all = (await api.call<Activity>('GET', '/v1/activity?window=10m')).body;
    if (total(all, 'delivered') >= 2) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(all!.minutes).toHaveLength(10);
  expect(all!.minutes.at(-1)!.minute).toBe(all!.to.slice(0, 16));
  expect(Date.parse(`${all!.minutes[0]!.minute}:00Z`)).toBe(Date.parse(all!.from));
  expect(total(all!, 'accepted')).toBe(2);
  expect(total(all!, 'delivered')).toBe(2);
  const own = (
    await api.call<Activity>('GET', '/v1/activity?window=10m', {
      headers: { authorization: `Bearer ${OTHER_API_KEY}` },
    })
  ).body;
  expect(total(own, 'accepted')).toBe(1);
  expect(total(own, 'delivered')).toBe(1);
  expect((await api.call<Activity>('GET', '/v1/activity')).body.minutes).toHaveLength(60);
});

test.each(['2d', 'soon', '30s'])('window=%s is a 400 naming the parameter', async (window) => {
  const response = await api.call<{ errors: { field: string }[] }>('GET', `/v1/activity?window=${window}`);
  expect(response.status).toBe(400);
  expect(response.body.errors).toEqual([
    { field: 'query:/window', message: 'must be a duration from 1m to 24h, such as 1h' },
  ]);
});
