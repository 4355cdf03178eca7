/**
 * A second Standard Webhooks implementation to check Herald's signatures with: the Python
 * `standardwebhooks` package (installed into .tools/python by scripts/install-python-verifier.mjs),
 * which verifies over the body's exact bytes, binary ones too.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const PACKAGES = join(ROOT, '.tools', 'python');

/** `npm test` installs it first; a lone `npx jest` run installs it here (fast when present). */
function ensureInstalled(): void {
  if (existsSync(join(PACKAGES, 'standardwebhooks'))) return;
  const install = spawnSync(process.execPath, [join(ROOT, 'scripts', 'install-python-verifier.mjs')], {
    stdio: 'inherit',
  });
  if (install.status !== 0) throw new Error('scripts/install-python-verifier.mjs could not install standardwebhooks');
}

const SCRIPT = `
import base64, json, sys
from standardwebhooks.webhooks import Webhook
given = json.load(sys.stdin)
try:
    Webhook(given["secret"]).verify(base64.b64decode(given["body"]), given["headers"], json_parse=False)
    print("verified")
except Exception as error:
    print("refused: " + type(error).__name__ + ": " + str(error))
`;

/** `verified`, or `refused: …` with the Python library's reason. */
export function verifyWithPython(secret: string, headers: IncomingHttpHeaders, body: Buffer): Promise<string> {
  ensureInstalled();
  const signed = Object.fromEntries(
    ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => [name, String(headers[name] ?? '')]),
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.env.PYTHON ?? 'python3', ['-c', SCRIPT], {
      env: { ...process.env, PYTHONPATH: PACKAGES },
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out.trim());
      else reject(new Error(`python exited with ${code}: ${err}`));
    });
    child.stdin.end(JSON.stringify({ secret, headers: signed, body: body.toString('base64') }));
  });
}
