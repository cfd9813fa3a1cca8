// The README's screenshots of the main screens (docs/screenshots/), taken from the real app with
// the example flow. Runs only with SCREENSHOTS=1 (`make web-screenshots`), so the test run never
// rewrites committed files.
import { expect, test } from '@playwright/test';
import { fileURLToPath } from 'node:url';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { adminApi, node, select, signIn, STUB, URL_BASE } from './helpers';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const OUT = join(ROOT, 'docs', 'screenshots');

test.skip(!process.env.SCREENSHOTS, 'SCREENSHOTS=1 takes the README screenshots');

test('screenshots of the main screens', async ({ page }) => {
  mkdirSync(OUT, { recursive: true });
  const flow = JSON.parse(readFileSync(join(ROOT, 'examples', 'flows', 'lead_field.json'), 'utf8'));
  flow.elements.find((e: { name: string }) => e.name === 'GETAPI').url = `${URL_BASE()}/leadservices/api/v2/leads/{{call.leadid}}/fields/158`;
  const file = join(process.env.CALLFLOW_WORK!, 'LeadField.json');
  writeFileSync(file, JSON.stringify(flow));
  await signIn(page, 'boss');
  await page.getByLabel('Import flow').setInputFiles(file);
  await expect(node(page, 'GETAPI')).toBeVisible();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await select(page, 'GETAPI');
  await page.getByLabel('Sample value of {{call.leadid}}').fill('1001');
  await page.getByRole('button', { name: 'Send test request' }).click();
  await expect(page.getByTestId('test-status')).toHaveText('200');
  await page.getByRole('button', { name: 'Fit View' }).click();
  await page.getByTestId('test-request-result').scrollIntoViewIfNeeded();
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(OUT, 'designer.png') });

  await page.getByRole('tab', { name: 'Test call' }).click();
  await page.getByLabel('Caller number').fill('+44 1632 960001');
  await page.getByRole('button', { name: 'Run test call' }).click();
  await expect(page.getByTestId('trace')).toContainText('Gold');
  await page.screenshot({ path: join(OUT, 'test-call.png') });

  await adminApi('POST', '/flows/LeadField/calls', { from: '+44 1632 960001' });
  await page.getByRole('button', { name: 'Calls' }).click();
  await page.getByRole('button', { name: /View call/ }).first().click();
  await expect(page.getByTestId('trace')).toBeVisible();
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(OUT, 'call-trace.png') });
  void STUB;
});
