/**
 * scripts/install-prometheus.mjs is the first thing `npm test` runs after the npm install: with promtool,
 * prometheus and amtool present it must neither call apt-get nor print anything, and be quick.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { prometheusTool } from '../helpers/prometheus';

test('with the tools present it does nothing, quietly and quickly', () => {
  for (const tool of ['promtool', 'prometheus', 'amtool'] as const) prometheusTool(tool);
  const started = Date.now();
  const run = spawnSync(process.execPath, [join(__dirname, '..', '..', 'scripts', 'install-prometheus.mjs')], {
    encoding: 'utf8',
  });
  expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
  expect(Date.now() - started).toBeLessThan(5_000);
});
