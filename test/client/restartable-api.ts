/**
 * The real HTTP API on a fixed port that a test can stop and start again, as a restarted API process
 * would (its own connection and stores each time), so a client configured with its URL sees it go away
 * and come back (a fixture's API always listens on a fresh port).
 */
import { openResources, type HeraldResources } from '../../src/runtime/resources';
import { closedPort } from '../helpers/downstream';
import type { HeraldFixture } from '../helpers/fixture';

export interface RestartableApi {
  url: string;
  port: number;
  readonly running: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function restartableApi(fixture: HeraldFixture): Promise<RestartableApi> {
  const port = await closedPort();
  const config = fixture.config({ HERALD_API_PORT: String(port) });
  let running: HeraldResources | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get running() {
      return running !== undefined;
    },
    async start() {
      if (running) return;
      running = await openResources(config, { api: true });
    },
    async stop() {
      const current = running;
      running = undefined;
      await current?.close();
    },
  };
}
