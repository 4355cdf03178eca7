import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { temporalCliEnv } from '../../scripts/temporal';

describe('npm run temporal: the environment it gives the Temporal CLI', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-cli-env-'));

  test('decodes through the codec endpoint, with the dev API key, where the embedded default encrypts', () => {
    writeFileSync(join(dataDir, 'dev-encryption-key'), 'dev-1:' + Buffer.alloc(32, 7).toString('base64'));
    writeFileSync(join(dataDir, 'dev-api-key'), 'hk_dev_key_for_the_cli_test\n');
    const env = temporalCliEnv({ HERALD_DATA_DIR: dataDir, HERALD_API_PORT: '3456' });
    expect(env.TEMPORAL_CODEC_ENDPOINT).toBe('http://localhost:3456/codec');
    expect(env.TEMPORAL_CODEC_AUTH).toBe('Bearer hk_dev_key_for_the_cli_test');
  });

  test('leaves a caller’s own codec endpoint alone, and sets none where nothing is encrypted', () => {
    const own = temporalCliEnv({ HERALD_DATA_DIR: dataDir, TEMPORAL_CODEC_ENDPOINT: 'http://codec.example/x' });
    expect(own.TEMPORAL_CODEC_ENDPOINT).toBe('http://codec.example/x');
    expect(own.TEMPORAL_CODEC_AUTH).toBeUndefined();
    const plain = temporalCliEnv({ HERALD_DATA_DIR: mkdtempSync(join(tmpdir(), 'herald-cli-env-')) });
    expect(plain.TEMPORAL_CODEC_ENDPOINT).toBeUndefined();
  });
});
