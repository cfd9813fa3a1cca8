// The designer as a user meets it: sign in, build the seed's example from an empty canvas, save,
// export (checked by `callflow check`), import, validation, Test request, Test call.
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  callflow,
  connectByDrag,
  createFlow,
  dragFromPalette,
  node,
  rename,
  select,
  settings,
  signIn,
  STUB,
  URL_BASE,
  USERS,
} from './helpers';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

test('sign-in refuses a wrong password and lets a user in', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('Username').fill('boss');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('Wrong username or password');
  await signIn(page, 'boss');
  await expect(page.getByRole('heading', { name: 'Flows' })).toBeVisible();
});

test("builds the seed's example from an empty canvas, saves, exports, and the export passes callflow check", async ({ page }) => {
  await signIn(page, 'boss');
  await createFlow(page, 'SeedExample');

  // Place: by dragging from the palette, and by clicking (the keyboard way).
  await dragFromPalette(page, 'Lookup Lead', 300, 60);
  await expect(node(page, 'LookupLead1')).toBeVisible();
  await rename(page, 'FindLead');
  await page.getByRole('button', { name: 'Add API Request' }).click();
  await expect(node(page, 'API1')).toBeVisible();
  await rename(page, 'GETAPI');

  // Undo and redo.
  await page.getByRole('button', { name: 'Undo' }).click();
  await expect(node(page, 'GETAPI')).toHaveCount(0);
  await expect(node(page, 'API1')).toBeVisible();
  await page.getByRole('button', { name: 'Redo' }).click();
  await expect(node(page, 'GETAPI')).toBeVisible();

  // Fill the API Request in the seed's words.
  await select(page, 'GETAPI');
  const s = settings(page);
  for (const label of ['Name', 'Description', 'Agents Can See This', 'Supervisor Can See This', 'Result Code', 'Phrase', 'Action', 'Timeout (s)', 'URL', 'Header', 'Body']) {
    await expect(s.getByLabel(label, { exact: true })).toBeVisible();
  }
  await s.getByLabel('Action', { exact: true }).selectOption('GET');
  await s.getByLabel('Timeout (s)', { exact: true }).fill('5');
  await s.getByLabel('URL', { exact: true }).fill(`${URL_BASE()}/leadservices/api/v2/leads/{{call.leadid}}/fields/158`);
  await s.getByLabel('Header', { exact: true }).fill('Accept: application/json');
  await s.getByText('Advanced').click();
  await s.getByLabel('Basic auth username').fill('ivr');
  await s.getByLabel('Basic auth password').fill('{{secret.LEAD_API_PASSWORD}}');

  // Connect: drag from FindLead's output to GETAPI.
  await page.getByRole('button', { name: 'Auto layout' }).click();
  await connectByDrag(page, 'FindLead', 'output', 'GETAPI');
  await expect(page.locator('.react-flow__edge[data-id="FindLead:output"]')).toHaveCount(1);
  await expect(page.locator('.react-flow__edge-text').filter({ hasText: 'output' })).toHaveCount(1);

  // The rest: placed by clicking, connected from the settings' exit lists (the keyboard way).
  await page.getByRole('button', { name: 'Add Set Property' }).click();
  await rename(page, 'SaveField');
  await settings(page).getByLabel('Property Type').selectOption('IvrData');
  await settings(page).getByLabel('Property Name').fill('LeadField');
  await settings(page).getByLabel('Value Type').selectOption('DataBin');
  await settings(page).getByLabel('Value Name').fill('GETAPI.Result.Value');

  await page.getByRole('button', { name: 'Add Text to Speech' }).click();
  await rename(page, 'SayValue');
  const text = settings(page).getByLabel('Text', { exact: true });
  await text.fill('Your value is {{Lead');
  // `{{` offers what this element can read... once it is connected after SaveField.
  await page.getByRole('button', { name: 'Add Hang Up' }).click();
  await rename(page, 'Bye');
  await settings(page).getByLabel('Result Code').fill('COMPLETED');

  await select(page, 'GETAPI');
  await settings(page).getByLabel('Exit output goes to').selectOption('SaveField');
  await select(page, 'SaveField');
  await settings(page).getByLabel('Exit output goes to').selectOption('SayValue');
  await select(page, 'SayValue');
  await settings(page).getByLabel('Exit output goes to').selectOption('Bye');

  // Completions: `{{Lead` offers LeadField (set by SaveField, before SayValue on the path).
  const say = settings(page).getByLabel('Text', { exact: true });
  await say.fill('');
  await say.pressSequentially('Your value is {{Lead');
  await expect(page.getByRole('option', { name: '{{LeadField}}' })).toBeVisible();
  await say.press('Enter');
  await expect(say).toHaveValue('Your value is {{LeadField}}');
  await say.pressSequentially('.');

  await expect(page.getByRole('region', { name: 'Problems' })).toContainText('0 errors');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved version 1' })).toBeVisible();

  // Export, and check the file with the command line.
  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export' }).click();
  const download = await downloadPromise;
  expect(download.suggestedFilename()).toBe('SeedExample.json');
  const exported = join(process.env.CALLFLOW_WORK!, 'SeedExample.json');
  await download.saveAs(exported);
  const checked = callflow('check', exported);
  expect(checked.status, checked.stderr + checked.stdout).toBe(0);
  const doc = JSON.parse(readFileSync(exported, 'utf8'));
  expect(doc.start).toBe('FindLead');
  expect(doc.elements.map((e: { name: string }) => e.name)).toEqual(['FindLead', 'GETAPI', 'SaveField', 'SayValue', 'Bye']);
  expect(doc.layout.nodes.GETAPI).toBeTruthy();

  // Test call through the server: the caller of lead 1001 hears Gold.
  await page.getByRole('tab', { name: 'Test call' }).click();
  await page.getByLabel('Caller number').fill('+44 1632 960001');
  await page.getByRole('button', { name: 'Run test call' }).click();
  await expect(page.getByTestId('trace')).toContainText('Your value is Gold');
  await expect(page.getByTestId('result-code')).toHaveText('COMPLETED');
  await expect(page.getByTestId('trace')).toContainText('GETAPI: GET');
  // The Basic credentials (from the secret) are shown as ***, never in clear or in base64.
  await expect(page.getByRole('table', { name: 'Request headers of GETAPI' })).toContainText('Basic ***');
  const shown = (await page.getByTestId('trace').textContent()) ?? '';
  expect(shown).not.toContain(USERS().ivr.password);
  expect(shown).not.toContain(Buffer.from(`ivr:${USERS().ivr.password}`).toString('base64'));
  await expect(node(page, 'SayValue').locator('.element-node')).toHaveClass(/lit/);

  // And `callflow run` runs the export unchanged.
  const run = callflow('run', exported, '--json', '--from', '+441632960001', '--db', join(process.env.CALLFLOW_WORK!, 'callflow.db'),
    '--secrets', join(process.env.CALLFLOW_WORK!, 'secrets'));
  expect(run.status, run.stderr).toBe(0);
  expect(JSON.parse(run.stdout).said).toEqual(['Your value is Gold.']);
});

test('imports a flow, lays it out, changes Timeout (s), saves and exports the change', async ({ page }) => {
  await signIn(page, 'boss');
  const source = JSON.parse(readFileSync(join(ROOT, 'examples', 'flows', 'lead_field.json'), 'utf8'));
  source.name = 'ImportedLeadField';
  const file = join(process.env.CALLFLOW_WORK!, 'import.json');
  writeFileSync(file, JSON.stringify(source));
  await page.getByLabel('Import flow').setInputFiles(file);
  await expect(page.getByRole('main', { name: 'Designer: ImportedLeadField' })).toBeVisible();
  await expect(page.locator('.react-flow__node')).toHaveCount(source.elements.length);
  // Laid out: no two elements on the same spot.
  const boxes = await page.locator('.react-flow__node').evaluateAll((nodes) => nodes.map((n) => (n as HTMLElement).style.transform));
  expect(new Set(boxes).size).toBe(source.elements.length);

  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved version 1' })).toBeVisible();
  await select(page, 'GETAPI');
  await settings(page).getByLabel('Timeout (s)').fill('7.5');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved version 2' })).toBeVisible();

  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export' }).click();
  const saved = join(process.env.CALLFLOW_WORK!, 'ImportedLeadField.json');
  await (await downloadPromise).saveAs(saved);
  const doc = JSON.parse(readFileSync(saved, 'utf8'));
  expect(doc.elements.find((e: { name: string }) => e.name === 'GETAPI').timeout).toBe(7.5);
  expect(callflow('check', saved).status).toBe(0);

  // The versions list shows both, by whom; version 1 opens and restores.
  await page.getByRole('tab', { name: 'Versions' }).click();
  const versions = page.getByRole('region', { name: 'Versions' });
  await expect(versions.getByRole('row')).toHaveCount(3);
  await expect(versions).toContainText('boss');
  await versions.getByRole('button', { name: 'Restore version 1' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Restored version 1' })).toBeVisible();
  await expect(versions.getByRole('row')).toHaveCount(4);
  await page.getByRole('tab', { name: 'Settings' }).click();
  await select(page, 'GETAPI');
  await expect(settings(page).getByLabel('Timeout (s)')).toHaveValue('5');
});

test('a bad URL shows a problem naming the element; clicking it selects the element; it saves as a draft only', async ({ page }) => {
  await signIn(page, 'boss');
  await createFlow(page, 'BadUrl');
  await page.getByRole('button', { name: 'Add API Request' }).click();
  await rename(page, 'CRM');
  await settings(page).getByLabel('URL', { exact: true }).fill('ftp://example.com/{{call.leadid}');
  const problems = page.getByRole('region', { name: 'Problems' });
  const problem = problems.getByRole('button').filter({ hasText: 'CRM · url' });
  await expect(problem).toBeVisible();
  await expect(node(page, 'CRM').locator('.element-node')).toHaveClass(/has-error/);
  await page.locator('.react-flow__pane').click({ position: { x: 5, y: 5 } });
  await problem.click();
  await expect(page.getByRole('region', { name: 'Settings of CRM' })).toBeVisible();
  await expect(settings(page).getByLabel('URL', { exact: true })).toHaveAttribute('aria-invalid', 'true');

  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByRole('status').filter({ hasText: 'as a draft' })).toBeVisible();
  await page.getByRole('button', { name: '← Flows' }).click();
  await expect(page.locator('tr[data-flow="BadUrl"]')).toContainText('(draft)');
});

test('Test request sends through the server, shows the answer and copies a fillpoint', async ({ page, context }) => {
  await signIn(page, 'boss');
  await createFlow(page, 'TryRequest');
  await page.getByRole('button', { name: 'Add API Request' }).click();
  await rename(page, 'GETAPI');
  await settings(page).getByLabel('URL', { exact: true }).fill(`${STUB()}/status/{{call.leadid}}`);
  await settings(page).getByLabel('Header', { exact: true }).fill('Authorization: Bearer {{secret.STUB_TOKEN}}');
  await page.getByLabel('Sample value of {{call.leadid}}').fill('1001');
  await page.getByRole('button', { name: 'Send test request' }).click();
  const result = page.getByTestId('test-request-result');
  await expect(page.getByTestId('test-status')).toHaveText('200');
  await expect(result).toContainText('/status/1001');
  await expect(result).toContainText('x-stub');
  await result.getByText('Response headers').click();
  await expect(result).toContainText('callflow-designer-test');
  // The secret in the request's header is shown as ***, and nowhere in clear.
  await result.getByText('Request headers').click();
  await expect(result.getByRole('table', { name: 'Request headers' })).toContainText('Bearer ***');
  expect(await page.content()).not.toContain('stub-secret-token-77');
  await result.getByRole('button', { name: /"Gold", copy fillpoint/ }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Copied {{GETAPI.Result.Value}}' })).toBeVisible();
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('{{GETAPI.Result.Value}}');

  // The sample is kept with the flow: later elements complete its paths, and the validator warns
  // about a path the sample lacks.
  await page.getByRole('button', { name: 'Add Text to Speech' }).click();
  await select(page, 'GETAPI');
  await settings(page).getByLabel('Exit output goes to').selectOption('TextToSpeech1');
  await select(page, 'TextToSpeech1');
  const say = settings(page).getByLabel('Text', { exact: true });
  await say.pressSequentially('Tier {{GETAPI.Result.acc');
  await expect(page.getByRole('option', { name: '{{GETAPI.Result.account.tier}}' })).toBeVisible();
  await say.press('Escape');
  await say.fill('Tier {{GETAPI.Result.acount.tier}}');
  await expect(page.getByRole('region', { name: 'Problems' })).toContainText('acount');
});

test('Test call shows "Your value is Gold" with the request and the path', async ({ page }) => {
  await signIn(page, 'boss');
  const flow = {
    format: 1,
    name: 'ValueCall',
    start: 'GETAPI',
    elements: [
      { name: 'GETAPI', type: 'ApiRequest', action: 'GET', url: `${STUB()}/status/{{call.phonenum}}`, header: 'Authorization: Bearer {{secret.STUB_TOKEN}}', next: { output: 'Save' } },
      { name: 'Save', type: 'SetProperty', destination: { type: 'IvrData', name: 'Value' }, source: { type: 'DataBin', name: 'GETAPI.Result.Value' }, next: { output: 'Say' } },
      { name: 'Say', type: 'TextToSpeech', text: 'Your value is {{Value}}', next: { output: 'Bye' } },
      { name: 'Bye', type: 'Hangup', resultCode: 'COMPLETED' },
    ],
  };
  const file = join(process.env.CALLFLOW_WORK!, 'value-call.json');
  writeFileSync(file, JSON.stringify(flow));
  await page.getByLabel('Import flow').setInputFiles(file);
  await page.getByRole('tab', { name: 'Test call' }).click();
  await page.getByLabel('Caller number').fill('441632960001');
  await page.getByRole('button', { name: 'Run test call' }).click();
  const trace = page.getByTestId('trace');
  await expect(trace).toContainText('Your value is Gold');
  await expect(trace).toContainText('GETAPI: GET');
  expect(await trace.textContent()).not.toContain('stub-secret-token-77');
  await expect(page.getByTestId('result-code')).toHaveText('COMPLETED');
  for (const name of ['GETAPI', 'Save', 'Say', 'Bye']) await expect(node(page, name).locator('.element-node')).toHaveClass(/lit/);
});
