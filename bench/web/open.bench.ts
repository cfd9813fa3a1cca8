// The designer's speed (issue 7): a 200-element flow opened, laid out and ready to edit in
// headless Chromium, and the validation round trip at the server, each beside a baseline measured
// in the same run (a 2-element flow opened the same way; GET /healthz on the same connection).
// Run by `make bench-web`; prints medians of several runs.
import { expect, test } from '@playwright/test';
import { writeFileSync } from 'node:fs';
import { request as httpRequest, Agent } from 'node:http';

const URL_BASE = () => process.env.CALLFLOW_URL!;
const USERS = () => JSON.parse(process.env.CALLFLOW_USERS!) as Record<string, { password: string }>;
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// A flow of n elements: chains of ApiRequest, SetProperty, Branch and TextToSpeech, as a real
// flow has them, without positions (so the designer lays it out).
function bigFlow(name: string, n: number) {
  const elements: Record<string, unknown>[] = [];
  for (let i = 0; i < n - 1; ++i) {
    const next = `E${i + 1}`;
    switch (i % 4) {
      case 0:
        elements.push({ name: `E${i}`, type: 'ApiRequest', url: `http://127.0.0.1:9/item/{{call.leadid}}/${i}`, timeout: 2, next: { output: next, error: next } });
        break;
      case 1:
        elements.push({ name: `E${i}`, type: 'SetProperty', destination: { type: 'IvrData', name: `V${i}` }, source: { type: 'DataBin', name: `E${i - 1}.Result.value` }, next: { output: next } });
        break;
      case 2:
        elements.push({ name: `E${i}`, type: 'Branch', source: `V${i - 1}`, branches: [{ value: 'a', next }], next: { noMatch: next } });
        break;
      default:
        elements.push({ name: `E${i}`, type: 'TextToSpeech', text: `Step ${i}: {{V${i - 2}}}`, next: { output: next } });
    }
  }
  elements.push({ name: `E${n - 1}`, type: 'Hangup' });
  return { format: 1, name, start: 'E0', elements };
}

async function token() {
  const r = await fetch(`${URL_BASE()}/api/v1/auth/token`, {
    method: 'POST',
    body: JSON.stringify({ username: 'boss', password: USERS().boss.password }),
  });
  return (await r.json()).token as string;
}

// One keep-alive connection, as the browser has: the time of each request, in ms.
function timedRequests(path: string, method: string, body: string, bearer: string, count: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(path, URL_BASE());
  const times: number[] = [];
  const one = () =>
    new Promise<void>((done, fail) => {
      const started = process.hrtime.bigint();
      const req = httpRequest(url, { method, agent, headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => {
          times.push(Number(process.hrtime.bigint() - started) / 1e6);
          if (res.statusCode !== 200) fail(new Error(`${method} ${path}: ${res.statusCode}`));
          else done();
        });
      });
      req.on('error', fail);
      req.end(body || undefined);
    });
  return (async () => {
    for (let i = 0; i < count; ++i) await one();
    agent.destroy();
    return times;
  })();
}

test('designer speed', async ({ page }) => {
  test.setTimeout(300_000);
  const bearer = await token();
  const big = bigFlow('Bench200', 200);
  const small = bigFlow('Bench2', 2);
  for (const flow of [big, small]) {
    const r = await fetch(`${URL_BASE()}/api/v1/flows/${flow.name}`, { method: 'PUT', headers: { Authorization: `Bearer ${bearer}` }, body: JSON.stringify(flow) });
    expect(r.status, await r.text()).toBe(200);
  }

  await page.goto('/');
  await page.getByLabel('Username').fill('boss');
  await page.getByLabel('Password').fill(USERS().boss.password);
  await page.getByRole('button', { name: 'Sign in' }).click();

  // Open: from the click to every node drawn and the settings of one element editable.
  const open = async (name: string, count: number) => {
    await page.getByRole('button', { name: 'Flows', exact: true }).click();
    const started = Date.now();
    await page.getByRole('button', { name: `Open ${name}`, exact: true }).click();
    await expect(page.locator('.react-flow__node')).toHaveCount(count, { timeout: 30_000 });
    await page.getByRole('toolbar', { name: 'Flow' }).getByLabel('Element').selectOption('E0');
    await expect(page.getByRole('region', { name: 'Settings of E0' }).getByLabel('Name', { exact: true })).toBeEditable();
    return Date.now() - started;
  };
  const bigTimes: number[] = [];
  const smallTimes: number[] = [];
  for (let i = 0; i < RUNS; ++i) {
    bigTimes.push(await open('Bench200', 200));
    smallTimes.push(await open('Bench2', 2));
  }

  const body = JSON.stringify(big);
  const validate = await timedRequests('/api/v1/validate', 'POST', body, bearer, 200);
  const health = await timedRequests('/api/v1/me', 'GET', '', bearer, 200);

  const out = {
    open200Ms: median(bigTimes),
    open2Ms: median(smallTimes),
    validate200Ms: Number(median(validate).toFixed(2)),
    meMs: Number(median(health).toFixed(3)),
    runs: { open200: bigTimes, open2: smallTimes },
  };
  console.log(`open a 200-element flow, laid out and editable: median ${out.open200Ms} ms (target < 1000); 2-element flow ${out.open2Ms} ms; ratio ${(out.open200Ms / out.open2Ms).toFixed(2)}`);
  console.log(`validation round trip, 200 elements: median ${out.validate200Ms} ms (target < 50); GET /api/v1/me on the same connection ${out.meMs} ms`);
  if (process.env.BENCH_OUT) writeFileSync(process.env.BENCH_OUT, JSON.stringify(out, null, 2));
});
