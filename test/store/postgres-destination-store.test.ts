/** The PostgreSQL destination store: the contract on a real PostgreSQL, each store on a pool of its own (two hosts). */
import type { DestinationStore } from '../../src/store/destination-store';
import { createTestDatabase, openTestStores } from '../helpers/postgres';
import { describeDestinationStore } from './destination-store.contract';

let url: string;
beforeAll(async () => {
  url = await createTestDatabase();
});

async function storeOnItsOwnPool(): Promise<DestinationStore> {
  const stores = await openTestStores(url);
  return { ...stores.destinations, close: () => stores.close() };
}

describeDestinationStore('PostgreSQL', { open: storeOnItsOwnPool, openAnother: storeOnItsOwnPool });
