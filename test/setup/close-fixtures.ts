/** Closes the fixtures a test file left open, after its last test, however its tests ended. */
import { closeFixtures } from '../helpers/fixture';

afterAll(() => closeFixtures());
