/** Closes the fixtures and fleets a test file left open, after its last test, however its tests ended. */
import { closeFixtures } from '../helpers/fixture';
import { closeHeraldFleets } from '../helpers/herald-fleet';

afterAll(async () => {
  await closeHeraldFleets();
  await closeFixtures();
});
