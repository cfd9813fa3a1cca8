// What the browser tests share: signing in, the server's addresses, a token for set-up through
// the admin API, and the canvas moves (drag from the palette, drag from an exit to a node).
import { expect, type Page } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';

export const URL_BASE = () => process.env.CALLFLOW_URL!;
export const STUB = () => process.env.CALLFLOW_STUB!;
export const USERS = () => JSON.parse(process.env.CALLFLOW_USERS!) as Record<string, { role: string; password: string }>;

export async function signIn(page: Page, user: string) {
  await page.goto('/');
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(USERS()[user].password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
}

export async function token(user: string): Promise<string> {
  const response = await fetch(`${URL_BASE()}/api/v1/auth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: user, password: USERS()[user].password }),
  });
  expect(response.ok).toBeTruthy();
  return (await response.json()).token;
}

export async function adminApi(method: string, path: string, body?: unknown) {
  const response = await fetch(`${URL_BASE()}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${await token('boss')}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

export function callflow(...args: string[]) {
  return spawnSync(process.env.CALLFLOW_BIN!, args, { encoding: 'utf8' });
}

export async function createFlow(page: Page, name: string) {
  await page.getByRole('button', { name: 'Flows', exact: true }).click();
  await page.getByLabel('New flow name').fill(name);
  await page.getByRole('button', { name: 'Create flow' }).click();
  await expect(page.getByRole('main', { name: `Designer: ${name}` })).toBeVisible();
}

export function node(page: Page, name: string) {
  return page.locator(`.react-flow__node[data-id="${name}"]`);
}

// Drags a palette entry onto the canvas at (x, y) from the canvas' top-left corner.
export async function dragFromPalette(page: Page, label: string, x: number, y: number) {
  const canvas = page.locator('.react-flow__pane');
  await page.getByRole('button', { name: `Add ${label}` }).dragTo(canvas, { targetPosition: { x, y } });
}

// Drags from an element's exit handle onto another element's input handle.
export async function connectByDrag(page: Page, from: string, exit: string, to: string) {
  const source = node(page, from).locator(`.react-flow__handle[data-handleid="${exit}"]`);
  const target = node(page, to).locator('.react-flow__handle[data-handleid="in"]');
  const a = (await source.boundingBox())!;
  const b = (await target.boundingBox())!;
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 });
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 5 });
  await page.mouse.up();
}

export async function select(page: Page, element: string) {
  await page.getByRole('toolbar', { name: 'Flow' }).getByLabel('Element').selectOption(element);
  await expect(page.getByRole('region', { name: `Settings of ${element}` })).toBeVisible();
}

export function settings(page: Page) {
  return page.locator('section.settings');
}

export async function rename(page: Page, to: string) {
  const name = settings(page).getByLabel('Name', { exact: true });
  await name.fill(to);
  await name.press('Enter');
  await expect(page.getByRole('region', { name: `Settings of ${to}` })).toBeVisible();
}

// A UDP port nobody holds now on 127.0.0.1 (SIPp's signalling and media ports).
export function freeUdpPort(): Promise<number> {
  return new Promise((done, fail) => {
    const socket = createSocket('udp4');
    socket.once('error', fail);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => done(port));
    });
  });
}
