// Starts what the browser tests talk to: a `callflow serve` on a fresh SQLite file (users of each
// role, the demo leads, the built designer, a prompts folder) and a JSON API on loopback for
// Test request. Its addresses go to the tests through the environment.
import { fileURLToPath } from 'node:url';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, mkdirSync, writeFileSync, copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer as netServer } from 'node:net';

export const USERS = {
  boss: { role: 'admin', password: 'boss-designer-pw1' },
  sue: { role: 'supervisor', password: 'sue-designer-pw2' },
  andy: { role: 'agent', password: 'andy-designer-pw3' },
  ivr: { role: 'api', password: 'ivr-designer-pw4' },
};

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = netServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const port = (probe.address() as { port: number }).port;
      probe.close(() => done(port));
    });
  });
}

function run(binary: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(binary, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${binary} ${args.join(' ')}: ${result.stderr}`);
}

// The stub API: GET /status/{anything} answers the lead's value; anything else echoes.
function startStub(port: number): Promise<Server> {
  const server = createServer((request, response) => {
    const url = request.url ?? '/';
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      response.setHeader('Content-Type', 'application/json');
      response.setHeader('X-Stub', 'callflow-designer-test');
      if (url.startsWith('/status/')) {
        response.end(JSON.stringify({ Value: 'Gold', account: { id: decodeURIComponent(url.slice(8)), tier: 3 }, tags: ['vip', 'uk'] }));
      } else {
        response.end(JSON.stringify({ method: request.method, url, body, auth: request.headers.authorization ?? '' }));
      }
    });
  });
  return new Promise((done) => server.listen(port, '127.0.0.1', () => done(server)));
}

let serve: ChildProcess | undefined;
let stub: Server | undefined;

export default async function setup() {
  const binary = resolve(process.env.CALLFLOW_BIN ?? join(ROOT, 'build', 'callflow'));
  const work = mkdtempSync(join(tmpdir(), 'callflow-web-'));
  const db = join(work, 'callflow.db');
  const prompts = join(work, 'prompts');
  mkdirSync(prompts);
  for (const file of readdirSync(join(ROOT, 'examples', 'prompts'))) {
    if (file.endsWith('.wav')) copyFileSync(join(ROOT, 'examples', 'prompts', file), join(prompts, file));
  }
  const secrets = join(work, 'secrets');
  writeFileSync(secrets, `LEAD_API_PASSWORD=${USERS.ivr.password}\nSTUB_TOKEN=stub-secret-token-77\n`, { mode: 0o600 });
  run(binary, ['leads', 'import', join(ROOT, 'examples', 'leads.csv'), '--db', db]);
  for (const [name, user] of Object.entries(USERS)) {
    run(binary, ['users', 'add', name, '--role', user.role, '--db', db], { CALLFLOW_PASSWORD: user.password });
  }
  const port = await freePort();
  const stubPort = await freePort();
  const sipPort = await freePort();
  stub = await startStub(stubPort);
  // SIP calls run `make run`'s phone demo, its Lead Web API request pointed at this server.
  const phone = join(work, 'phone.json');
  writeFileSync(phone, readFileSync(join(ROOT, 'examples', 'flows', 'phone.json'), 'utf8').replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`));
  // ApiRequest may reach this server's own Lead Web API and the stub, nothing else on loopback
  // (the server and `callflow run` in the tests both read CALLFLOW_ALLOW).
  process.env.CALLFLOW_ALLOW = `127.0.0.1:${port},127.0.0.1:${stubPort}`;
  const args = ['serve', '--db', db, '--http', `127.0.0.1:${port}`, '--web', join(ROOT, 'web', 'dist'), '--prompts', prompts, '--secrets', secrets,
    '--sip', `127.0.0.1:${sipPort}`, '--flow', phone];
  serve = spawn(binary, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline || serve.exitCode !== null) throw new Error(`callflow serve did not start: ${binary} ${args.join(' ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  process.env.CALLFLOW_URL = url;
  process.env.CALLFLOW_STUB = `http://127.0.0.1:${stubPort}`;
  process.env.CALLFLOW_SIP = `127.0.0.1:${sipPort}`;
  process.env.CALLFLOW_BIN = binary;
  process.env.CALLFLOW_WORK = work;
  process.env.CALLFLOW_USERS = JSON.stringify(USERS);
  (globalThis as Record<string, unknown>).__callflow = { serve, stub };
}
