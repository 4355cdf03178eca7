/** The PostgreSQL ordering sequencer: the contract on a real PostgreSQL, each store on a pool of its own (a host). */
import { Pool } from 'pg';
import { migratePostgres } from '../../src/store/postgres-migrations';
import { createPostgresOrderingStore } from '../../src/store/postgres-ordering-store';
import { createTestDatabase } from '../helpers/postgres';
import { describeOrderingStore } from './ordering-store.contract';

let url: string;
beforeAll(async () => {
  url = await createTestDatabase();
  await migratePostgres(url);
});

describeOrderingStore('PostgreSQL', {
  async open(options) {
    const pool = new Pool({ connectionString: url, max: 2 });
    const store = createPostgresOrderingStore(pool, options);
    return {
      claim: (id, destination, key) => store.claim(id, destination, key),
      close: async () => {
        await store.close();
        await pool.end();
      },
    };
  },
});
