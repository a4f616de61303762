/** Test-file fixtures on top of the harness (which the benchmarks import without vitest). */
import { afterAll, beforeAll } from 'vitest';
import type { Browser } from 'playwright-core';
import { launch, startServer, type ServerOptions, type Served } from './harness';

/**
 * The usual pair for a test file: the real server and a Chromium with three fake cameras,
 * started before its tests and closed after them. Read `.server` / `.browser` inside tests.
 */
export function serverAndBrowser(options: ServerOptions = {}): { server: Served; browser: Browser } {
	const env = {} as { server: Served; browser: Browser };
	beforeAll(async () => {
		env.server = await startServer(options);
		env.browser = await launch({ deviceCount: 3 });
	});
	afterAll(async () => {
		await env.browser?.close();
		await env.server?.close();
	});
	return env;
}
