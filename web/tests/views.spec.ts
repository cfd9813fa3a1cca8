// The other screens: roles and transfer targets, a second browser seeing a save, keyboard-only
// edits, calls with their traces, leads, prompts.
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { adminApi, createFlow, freeUdpPort, node, select, settings, signIn } from './helpers';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

test('an agent sees agent-visible elements only, a supervisor sees both', async ({ browser }) => {
  const flow = {
    format: 1,
    name: 'Visible',
    start: 'ForAgents',
    elements: [
      { name: 'ForAgents', type: 'TextToSpeech', agentsCanSee: true, text: 'Agents', next: { output: 'ForSupervisors' } },
      { name: 'ForSupervisors', type: 'TextToSpeech', supervisorCanSee: true, text: 'Supervisors', next: { output: 'Hidden' } },
      { name: 'Hidden', type: 'Hangup' },
    ],
  };
  expect((await adminApi('PUT', '/flows/Visible', flow)).status).toBe(200);
  for (const [user, sees, hidden] of [
    ['andy', ['ForAgents'], ['ForSupervisors', 'Hidden']],
    ['sue', ['ForAgents', 'ForSupervisors'], ['Hidden']],
  ] as const) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, user);
    await page.getByRole('button', { name: 'Transfer targets' }).click();
    const table = page.getByRole('table', { name: 'Transfer targets' });
    for (const name of sees) await expect(table.getByRole('cell', { name, exact: true })).toBeVisible();
    for (const name of hidden) await expect(table.getByRole('cell', { name, exact: true })).toHaveCount(0);
    if (user === 'andy') {
      // An agent reads flows but has no palette, no Save and no Calls view.
      await expect(page.getByRole('button', { name: 'Calls' })).toHaveCount(0);
      await page.getByRole('button', { name: 'Flows', exact: true }).click();
      await page.getByRole('button', { name: 'Open Visible' }).click();
      await expect(node(page, 'ForAgents')).toBeVisible();
      await expect(page.getByRole('button', { name: 'Save', exact: true })).toHaveCount(0);
      await expect(page.getByRole('complementary', { name: 'Palette' })).toHaveCount(0);
    }
    await context.close();
  }
});

test("a second browser sees the first one's save", async ({ browser }) => {
  expect((await adminApi('PUT', '/flows/Shared', { format: 1, name: 'Shared', start: 'Bye', elements: [{ name: 'Bye', type: 'Hangup' }] })).status).toBe(200);
  const first = await (await browser.newContext()).newPage();
  const second = await (await browser.newContext()).newPage();
  await signIn(first, 'boss');
  await signIn(second, 'boss');
  await expect(second.locator('tr[data-flow="Shared"] td').nth(1)).toHaveText('1');
  await second.getByRole('button', { name: 'Open Shared' }).click();

  await first.getByRole('button', { name: 'Open Shared' }).click();
  await first.getByRole('button', { name: 'Add Text to Speech' }).click();
  await settings(first).getByLabel('Text', { exact: true }).fill('Hello from the first browser');
  await settings(first).getByRole('button', { name: 'Make this the start' }).click();
  await settings(first).getByLabel('Exit output goes to').selectOption('Bye');
  await first.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(first.getByRole('status').filter({ hasText: 'Saved version 2' })).toBeVisible();

  await expect(second.getByText('Version 2 was saved by boss')).toBeVisible({ timeout: 15_000 });
  await second.getByRole('button', { name: 'Open version 2' }).click();
  await expect(node(second, 'TextToSpeech1')).toBeVisible();
  await second.getByRole('button', { name: '← Flows' }).click();
  await expect(second.locator('tr[data-flow="Shared"] td').nth(1)).toHaveText('2');
});

test('the canvas can be driven from the keyboard', async ({ page }) => {
  await signIn(page, 'boss');
  await createFlow(page, 'Keys');
  for (const label of ['Add Text to Speech', 'Add Hang Up']) {
    await page.getByRole('button', { name: label }).focus();
    await page.keyboard.press('Enter');
  }
  await expect(page.locator('.react-flow__node')).toHaveCount(2);
  await page.getByRole('button', { name: 'Select next element' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('region', { name: /Settings of / })).toBeVisible();
  const first = await page.getByRole('region', { name: /Settings of / }).getAttribute('aria-label');
  await page.keyboard.press('Enter');
  const second = await page.getByRole('region', { name: /Settings of / }).getAttribute('aria-label');
  expect(second).not.toBe(first);
  await select(page, 'TextToSpeech1');
  await page.getByRole('button', { name: 'Open settings' }).click();
  await expect(settings(page).getByLabel('Name', { exact: true })).toBeFocused();
  const exit = settings(page).getByLabel('Exit output goes to');
  await exit.focus();
  await exit.selectOption('Hangup1');
  await expect(page.locator('.react-flow__edge[data-id="TextToSpeech1:output"]')).toHaveCount(1);
  // Delete with the keyboard: the selected node, by the Delete key on the canvas.
  await node(page, 'Hangup1').click();
  await page.keyboard.press('Delete');
  await expect(node(page, 'Hangup1')).toHaveCount(0);
  await expect(page.locator('.react-flow__edge')).toHaveCount(0);
  await page.keyboard.press('Control+z');
  await expect(node(page, 'Hangup1')).toBeVisible();
  // Every control has a name.
  const unnamed = await page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea, button')]
      .filter((el) => {
        const e = el as HTMLInputElement;
        if (e.type === 'hidden' || e.closest('.react-flow__minimap')) return false;
        const labelled = e.labels?.length || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby') || e.title;
        return !labelled && !(e.tagName === 'BUTTON' && e.textContent?.trim());
      })
      .map((e) => e.outerHTML.slice(0, 120)),
  );
  expect(unnamed).toEqual([]);
});

test('calls: filtered list, and one call drawn on its flow version', async ({ page }) => {
  const flow = {
    format: 1,
    name: 'Recorded',
    start: 'Hello',
    elements: [
      { name: 'Hello', type: 'TextToSpeech', text: 'Hello caller', next: { output: 'Bye' } },
      { name: 'Bye', type: 'Hangup', resultCode: 'GREETED' },
    ],
  };
  expect((await adminApi('PUT', '/flows/Recorded', flow)).status).toBe(200);
  const call = await adminApi('POST', '/flows/Recorded/calls', { from: '441632960777' });
  expect(call.status).toBe(200);
  await signIn(page, 'sue');
  await page.getByRole('button', { name: 'Calls' }).click();
  await page.getByLabel('Number').fill('960777');
  const rows = page.getByRole('table', { name: 'Calls' }).locator('tbody tr');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('GREETED');
  await page.getByLabel('Result code').fill('NOPE');
  await expect(rows).toHaveCount(0);
  await page.getByLabel('Result code').fill('GREETED');
  await expect(rows).toHaveCount(1);
  await rows.first().getByRole('button', { name: /View call/ }).click();
  await expect(page.getByTestId('trace')).toContainText('Hello caller');
  await expect(node(page, 'Hello').locator('.element-node')).toHaveClass(/lit/);
  await expect(node(page, 'Bye').locator('.element-node')).toHaveClass(/lit/);
});

test('leads: find by phone and by reference, edit a custom field', async ({ page }) => {
  await signIn(page, 'boss');
  await page.getByRole('button', { name: 'Leads' }).click();
  await page.getByLabel('Phone number to find').fill('+44 1632 960001');
  await page.getByRole('button', { name: 'Find leads' }).click();
  await expect(page.getByRole('table', { name: 'Leads' })).toContainText('ACME-0001');
  await page.getByRole('button', { name: /Open lead/ }).first().click();
  await expect(page.getByLabel('Field 158')).toHaveValue('Gold');
  await page.getByLabel('City').fill('Cambridge');
  await page.getByRole('button', { name: 'Save lead' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();
  await page.getByLabel('Find by').selectOption('reference');
  await page.getByLabel('Reference to find').fill('ACME-0001');
  await page.getByRole('button', { name: 'Find leads' }).click();
  await expect(page.getByRole('table', { name: 'Leads' })).toContainText('Cambridge');
});

test('prompts: upload, list, play, hear a text, delete', async ({ page }) => {
  await signIn(page, 'boss');
  await page.getByRole('button', { name: 'Prompts' }).click();
  await page.getByLabel('Upload prompt').setInputFiles({
    name: 'greeting-test.wav',
    mimeType: 'audio/wav',
    buffer: readFileSync(join(ROOT, 'examples', 'prompts', 'welcome.wav')),
  });
  await expect(page.getByRole('status').filter({ hasText: 'Uploaded greeting-test.wav' })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Prompts' })).toContainText('greeting-test.wav');
  await page.getByRole('button', { name: 'Play greeting-test.wav' }).click();
  const audio = page.getByLabel('Audio of greeting-test.wav');
  await expect(audio).toBeVisible();
  expect(await audio.evaluate((a: HTMLAudioElement) => new Promise((done) => (a.readyState >= 1 ? done(a.duration) : a.addEventListener('loadedmetadata', () => done(a.duration)))))).toBeGreaterThan(0.2);
  await page.getByLabel('Text to hear').fill('Your value is Gold');
  await page.getByRole('button', { name: 'Listen' }).click();
  await expect(page.getByTestId('tts-audio')).toBeVisible();
  page.once('dialog', (dialog) => dialog.accept());
  await page.getByRole('button', { name: 'Delete greeting-test.wav' }).click();
  await expect(page.getByRole('table', { name: 'Prompts' })).not.toContainText('greeting-test.wav');
});

test("a phone call placed with SIPp shows in the calls view, drawn on the flow it ran", async ({ page }) => {
  test.skip(!existsSync('/usr/bin/sipp'), 'sipp (Debian sip-tester) is not installed');
  // README's demo call: from demo lead 1001, it hears its status, presses 1 then 2.
  const sipp = spawnSync('sipp', ['-sf', join(ROOT, 'examples', 'sipp', 'demo_call.xml'), '-key', 'caller', '441632960001', '-s', '100',
    '-m', '1', '-i', '127.0.0.1', '-p', String(await freeUdpPort()), '-mp', String(await freeUdpPort()), '-nostdin', '-timeout', '60s', '-timeout_error', process.env.CALLFLOW_SIP!],
  { cwd: process.env.CALLFLOW_WORK, encoding: 'utf8', timeout: 90_000 });
  expect(sipp.status, `${sipp.stdout}\n${sipp.stderr}`).toBe(0);
  await signIn(page, 'sue');
  await page.getByRole('button', { name: 'Calls' }).click();
  await page.getByLabel('Flow', { exact: true }).fill('PhoneDemo');
  const rows = page.getByRole('table', { name: 'Calls' }).locator('tbody tr');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('441632960001');
  await rows.first().getByRole('button', { name: /View call/ }).click();
  await expect(page.getByTestId('trace')).toContainText('Gold');
  for (const name of ['Welcome', 'FindLead', 'GETAPI', 'Status']) await expect(node(page, name).locator('.element-node')).toHaveClass(/lit/);
});

test('rename moves a flow with its versions', async ({ page }) => {
  for (const text of ['one', 'two']) {
    const flow = { format: 1, name: 'BeforeRename', start: 'Say', elements: [{ name: 'Say', type: 'TextToSpeech', text }] };
    expect((await adminApi('PUT', '/flows/BeforeRename', flow)).status).toBe(200);
  }
  await signIn(page, 'boss');
  page.once('dialog', (dialog) => dialog.accept('AfterRename'));
  await page.getByRole('button', { name: 'Rename BeforeRename' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Renamed BeforeRename to AfterRename' })).toBeVisible();
  await expect(page.locator('tr[data-flow="BeforeRename"]')).toHaveCount(0);
  await expect(page.locator('tr[data-flow="AfterRename"] td').nth(1)).toHaveText('3');
  await page.getByRole('button', { name: 'Open AfterRename' }).click();
  await page.getByRole('tab', { name: 'Versions' }).click();
  await expect(page.getByRole('region', { name: 'Versions' }).getByRole('row')).toHaveCount(4);
});
