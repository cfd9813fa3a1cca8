// Stops what tests/setup.ts started.
import type { ChildProcess } from 'node:child_process';
import type { Server } from 'node:http';

export default async function teardown() {
  const started = (globalThis as Record<string, unknown>).__callflow as { serve?: ChildProcess; stub?: Server } | undefined;
  started?.serve?.kill('SIGTERM');
  await new Promise<void>((done) => (started?.stub ? started.stub.close(() => done()) : done()));
}
