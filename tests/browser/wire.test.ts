/**
 * What a phone really downloads, and what the page is allowed to run, in real Chromium against
 * the server as `npm start` runs it (`serve()`): DESIGN.md's byte budgets measured on the wire
 * (CDP `Network.loadingFinished` `encodedDataLength`: compressed bodies plus headers) on a first
 * visit, and the Content-Security-Policy through everything a user does, with no violation.
 */
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import {
	decodesFrames,
	openAppPage,
	placeCall,
	takeCspViolations,
	waitForState
} from './harness';
import { serverAndBrowser } from './fixture';

/** DESIGN.md "Budgets", KB = 1000 bytes. */
const BUDGET = { cameraLive: 100_000, idReady: 100_000 };

const env = serverAndBrowser();

interface Transfer {
	url: string;
	bytes: number;
	/** When it finished, wall-clock ms (CDP's monotonic timestamp mapped through wallTime). */
	at: number;
}

/** Bytes on the wire, per request, as Chromium's network stack counts them, each with the time
 * it finished; `until(t)` is what had arrived by then. */
async function wireMeter(page: Page) {
	const cdp = await page.context().newCDPSession(page);
	const urls = new Map<string, string>();
	const done: Transfer[] = [];
	/** wall-clock seconds minus CDP's monotonic seconds, from any request's pair of stamps. */
	let offset: number | null = null;
	cdp.on('Network.requestWillBeSent', (e) => {
		urls.set(e.requestId, e.request.url);
		offset ??= e.wallTime - e.timestamp;
	});
	cdp.on('Network.loadingFinished', (e) =>
		done.push({ url: urls.get(e.requestId) ?? e.requestId, bytes: e.encodedDataLength, at: (e.timestamp + (offset ?? 0)) * 1000 })
	);
	await cdp.send('Network.enable');
	return {
		until(at: number): { total: number; parts: Transfer[] } {
			const parts = done.filter((p) => p.at <= at);
			return { total: parts.reduce((sum, p) => sum + p.bytes, 0), parts };
		}
	};
}

/** Records, in the page, the wall-clock moment each state first shows on the root element. */
function stampStates() {
	const w = window as unknown as { __stamps: Record<string, number> };
	w.__stamps = {};
	const note = () => {
		const app = document.querySelector('[data-testid="app"]');
		if (!app) return;
		const now = performance.timeOrigin + performance.now();
		if (app.getAttribute('data-capture') === 'live') w.__stamps.live ??= now;
		if (app.getAttribute('data-signaling') === 'open') w.__stamps.open ??= now;
	};
	new MutationObserver(note).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-capture', 'data-signaling'] });
}

const kb = (n: number) => `${(n / 1000).toFixed(1)} KB`;
const listing = (parts: Transfer[]) =>
	parts
		.sort((a, b) => b.bytes - a.bytes)
		.map((p) => `${String(p.bytes).padStart(7)}  ${p.url.replace(env.server.url, '')}`)
		.join('\n');

describe('bytes on the wire on a first visit', () => {
	test(`until the camera is live ≤ ${kb(BUDGET.cameraLive)} and until the ID is ready ≤ ${kb(BUDGET.idReady)}`, async () => {
		const context = await env.browser.newContext({ viewport: { width: 390, height: 844 } });
		const page = await context.newPage();
		const meter = await wireMeter(page);
		await context.addInitScript(stampStates);
		await page.goto(env.server.url);
		await Promise.all([waitForState(page, 'capture', 'live'), waitForState(page, 'signaling', 'open')]);
		// What had arrived by the moment each state showed in the page (the test's own polling
		// can come later, while what loads after the first screen is already on its way).
		const stamps = await page.evaluate(() => (window as unknown as { __stamps: { live: number; open: number } }).__stamps);
		const [live, open] = [meter.until(stamps.live), meter.until(stamps.open)];
		console.log(`wire: camera live ${kb(live.total)} in ${live.parts.length} responses; ID ready ${kb(open.total)} in ${open.parts.length}`);
		expect(live.total, `camera live:\n${listing(live.parts)}`).toBeLessThanOrEqual(BUDGET.cameraLive);
		expect(open.total, `ID ready:\n${listing(open.parts)}`).toBeLessThanOrEqual(BUDGET.idReady);
		// The scripts came compressed (to less than half, where brotli gives about a quarter).
		const scripts = await page.evaluate(() =>
			(performance.getEntriesByType('resource') as PerformanceResourceTiming[])
				.filter((e) => e.name.includes('/_app/immutable/') && e.name.endsWith('.js'))
				.reduce((sum, e) => ({ encoded: sum.encoded + e.encodedBodySize, decoded: sum.decoded + e.decodedBodySize }), { encoded: 0, decoded: 0 })
		);
		expect(scripts.decoded).toBeGreaterThan(100_000);
		expect(scripts.encoded).toBeLessThan(scripts.decoded / 2);
		await context.close();
	});
});

describe('Content-Security-Policy', () => {
	test('enforced: an injected inline script is blocked and reported', async () => {
		const context = await env.browser.newContext({ viewport: { width: 390, height: 844 } });
		const page = await context.newPage();
		const response = await page.goto(env.server.url);
		expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
		await page.waitForSelector('[data-testid="app"]');
		await page.evaluate(() => {
			const script = document.createElement('script');
			script.textContent = 'window.__injected = true';
			document.body.append(script);
		});
		expect(await page.evaluate(() => (window as unknown as { __injected?: boolean }).__injected)).toBeUndefined();
		await expect.poll(() => takeCspViolations().join('\n')).toMatch(/script-src/);
		// The same violation arrives twice (event and console): collect the late one too.
		await context.close();
		takeCspViolations();
	});

	test('no violation through a whole session: load, camera, ID, QR code, photo, /inspect, /gallery, a call, deep links', async () => {
		takeCspViolations();
		const a = await openAppPage(env.browser, env.server.url);
		const b = await openAppPage(env.browser, env.server.url);

		// The QR code is a data: image, loaded on demand.
		await a.getByTestId('qr').click();
		await a.locator('.qr-full img').waitFor();
		await a.locator('.qr-full button').click();
		await a.locator('.qr-full').waitFor({ state: 'detached' });

		// A photo: the photo code loads on demand, the gallery shows blob: images.
		const shutter = a.getByTestId('shutter');
		await expect.poll(() => shutter.isEnabled()).toBe(true);
		await shutter.click();
		await a.getByTestId('gallery-link').click();
		await a.waitForURL('**/gallery');
		await expect.poll(() => a.getByTestId('photo').count()).toBe(1);
		await a.getByTestId('photo').first().click();
		await a.waitForFunction(() => {
			const img = document.querySelector('[data-testid="photo-full"]') as HTMLImageElement | null;
			return !!img && img.complete && img.naturalWidth > 0;
		});
		await a.getByTestId('photo-close').click();
		await a.locator('main a[href="/"]').click();
		await a.waitForURL(`${env.server.url}/`);
		await waitForState(a, 'capture', 'live');

		// The inspector, in-app.
		await a.getByTestId('inspect-link').click();
		await a.waitForURL('**/inspect');
		await a.locator('[data-testid="statechart"][data-machine="capture"]').waitFor();
		await a.locator('main a[href="/"]').click();
		await a.waitForURL(`${env.server.url}/`);
		await waitForState(a, 'capture', 'live');

		// A call with media both ways.
		await placeCall(a, b);
		expect(await decodesFrames(a, 'remote-video')).toBe(true);
		expect(await decodesFrames(b, 'remote-video')).toBe(true);
		await a.getByTestId('hangup').click();
		await Promise.all([waitForState(a, 'call', 'ended'), waitForState(b, 'call', 'ended', 5000)]);

		// Deep links: full loads of the shell through the SPA fallback.
		for (const route of ['/inspect', '/gallery', '/?call=someone']) {
			const page = await b.context().newPage();
			await page.goto(env.server.url + route);
			await page.waitForSelector('[data-testid="app"]');
			await page.close();
		}
		// Let late reports (a service worker's start, a closing connection) arrive.
		await a.waitForTimeout(500);
		expect(takeCspViolations()).toEqual([]);
		await a.context().close();
		await b.context().close();
	});
});
