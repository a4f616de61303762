/**
 * Installable offline PWA (issue 4), in real Chromium against the production build:
 * manifest and installability (CDP), service worker control and offline reload, signaling that
 * waits calmly offline and reconnects by itself, an update that waits out a call, the language
 * switch, the iOS hint, and a check that the bundle model behind `npm run size` matches what the
 * browser really loads.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import {
	buildDir,
	chromiumArgs,
	chromiumPath,
	dialId,
	launch,
	peerIdOf,
	placeCall,
	startServer,
	stateOf,
	textOf,
	waitForState,
	watchCsp,
	type Served
} from './harness';
import { measure } from '../bench/size.js';
import { QUIET_MS } from '../../src/lib/pwa-updates';

/** While set, the server answers /sw.js with the built worker plus this text: byte-different,
 * so the browser installs it as a new version (which then waits, as DESIGN.md asks). */
let swChange: string | null = null;
let server: Served;

beforeAll(async () => {
	server = await startServer({
		overrides: {
			'/sw.js': () => (swChange === null ? undefined : fs.readFileSync(path.join(buildDir, 'sw.js'), 'utf8') + swChange)
		}
	});
});
afterAll(async () => {
	await server?.close();
});

/** Installability and service workers need a real profile: a normal context is incognito. */
async function persistent(): Promise<{ context: BrowserContext; page: Page; close(): Promise<void> }> {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camcall-pwa-'));
	const context = await chromium.launchPersistentContext(dir, {
		executablePath: chromiumPath,
		headless: true,
		args: chromiumArgs(),
		viewport: { width: 390, height: 844 }
	});
	await watchCsp(context);
	const page = context.pages()[0] ?? (await context.newPage());
	return {
		context,
		page,
		async close() {
			await context.close();
			fs.rmSync(dir, { recursive: true, force: true });
		}
	};
}

const controlled = (page: Page) => page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 20_000 });

/** The camera starts by itself once permission is granted; tap if it waits for one. */
async function cameraLive(page: Page) {
	await waitForState(page, 'capture', ['idle', 'acquiring', 'live']);
	if ((await stateOf(page, 'capture')) === 'idle') await page.getByTestId('camera-start').click();
	await waitForState(page, 'capture', 'live');
}

async function ready(page: Page) {
	await page.goto(server.url);
	await waitForState(page, 'signaling', 'open');
	await cameraLive(page);
}

/** Marks the current document; gone after any reload or navigation. */
const mark = (page: Page) => page.evaluate(() => ((window as unknown as { __doc: string }).__doc = 'same'));
const marked = (page: Page) => page.evaluate(() => (window as unknown as { __doc?: string }).__doc === 'same');

function pngSize(data: Buffer): { width: number; height: number } {
	expect(data.subarray(1, 4).toString('latin1')).toBe('PNG');
	return { width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
}

describe('installable offline PWA', () => {
	test('the manifest has no errors, the app is installable, the icons are PNGs of their declared sizes, and the install button appears', async () => {
		const { page, context, close } = await persistent();
		try {
			// A slow network: the app's code arrives after Chrome has offered installation.
			await page.route('**/_app/immutable/entry/app.*.js', async (route) => {
				await new Promise((resolve) => setTimeout(resolve, 1500));
				await route.continue();
			});
			await page.addInitScript(() =>
				addEventListener('beforeinstallprompt', () => {
					(window as unknown as { __offeredBeforeApp: boolean }).__offeredBeforeApp = !document.querySelector('[data-testid="app"]');
				})
			);
			await page.goto(server.url);
			await controlled(page);
			const cdp = await context.newCDPSession(page);
			const manifest = await cdp.send('Page.getAppManifest');
			expect(manifest.errors).toEqual([]);
			expect(manifest.url).toBe(`${server.url}/manifest.webmanifest`);
			const data = JSON.parse(manifest.data ?? '{}');
			expect(data).toMatchObject({
				name: 'CamCall',
				short_name: 'CamCall',
				display: 'standalone',
				orientation: 'portrait',
				start_url: '/',
				scope: '/',
				theme_color: '#0b1220',
				background_color: '#0b1220'
			});
			expect(data.description).toBeTruthy();
			const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
			expect(installabilityErrors).toEqual([]);

			const icons = data.icons as { src: string; sizes: string; purpose: string; type: string }[];
			for (const want of ['192x192 any', '512x512 any', '192x192 maskable', '512x512 maskable']) {
				expect(icons.map((i) => `${i.sizes} ${i.purpose}`)).toContain(want);
			}
			const linked = await page.evaluate(() =>
				['link[rel="apple-touch-icon"]', 'link[rel="icon"]'].map((s) => document.querySelector<HTMLLinkElement>(s)?.href ?? '')
			);
			const files = [...icons.map((i) => ({ url: new URL(i.src, server.url).href, sizes: i.sizes })), { url: linked[0], sizes: '180x180' }];
			for (const { url, sizes } of files) {
				const res = await fetch(url);
				expect(res.status, url).toBe(200);
				const { width, height } = pngSize(Buffer.from(await res.arrayBuffer()));
				expect(`${width}x${height}`, url).toBe(sizes);
			}
			const favicon = await fetch(linked[1]);
			expect(favicon.status).toBe(200);
			expect(await favicon.text()).toContain('<svg');

			// beforeinstallprompt fired before the app's code ran: the button must still show
			// (app.html keeps the event for the app).
			await page.waitForSelector('[data-testid="dial"]');
			expect(await page.evaluate(() => (window as unknown as { __offeredBeforeApp?: boolean }).__offeredBeforeApp)).toBe(true);
			await expect.poll(() => page.getByRole('button', { name: 'Install app' }).count(), { timeout: 10_000 }).toBe(1);
		} finally {
			await close();
		}
	});

	test('controlled on the first load; offline reload renders with the camera live and signaling waiting calmly; deep links work offline; back online it reconnects without a reload', async () => {
		const { page, context, close } = await persistent();
		try {
			await page.goto(server.url);
			await controlled(page); // no reload: clientsClaim takes the first load
			await waitForState(page, 'signaling', 'open');
			await cameraLive(page);
			const id = (await textOf(page, 'peer-id')).trim();
			expect(id).not.toBe('');

			await context.setOffline(true);
			const response = await page.reload();
			expect(response?.fromServiceWorker()).toBe(true);
			await page.waitForSelector('[data-testid="app"]');
			await cameraLive(page);
			// The retry against a dead network has failed at least once: not open, not given up.
			await waitForState(page, 'signaling', ['disconnected', 'reconnecting']);
			expect(await page.getByTestId('offline').isVisible()).toBe(true);
			expect(await page.getByTestId('error').count()).toBe(0);
			await mark(page);

			// Every route is in the precache: deep links open offline.
			for (const route of ['/inspect', '/gallery']) {
				const other = await context.newPage();
				const res = await other.goto(server.url + route);
				expect(res?.fromServiceWorker(), route).toBe(true);
				await other.waitForSelector('[data-testid="app"]');
				await other.waitForSelector('main a[href="/"]');
				expect(await other.getByTestId('dial-input').count(), route).toBe(0);
				expect(new URL(other.url()).pathname).toBe(route);
				await other.close();
			}
			expect(await stateOf(page, 'signaling')).not.toBe('open');

			await context.setOffline(false);
			await waitForState(page, 'signaling', 'open', 15_000);
			expect(await marked(page)).toBe(true);
			expect(await page.getByTestId('offline').count()).toBe(0);
			expect((await textOf(page, 'peer-id')).trim()).toBe(id);
		} finally {
			await close();
		}
	});

	test('the service worker waits until signaling is open and no call is being set up, then registers', async () => {
		const { page: a, context, close } = await persistent();
		// Each page records the app's state whenever it registers a worker: the rule itself,
		// whatever the timing on a busy machine.
		await context.addInitScript(() => {
			const w = window as unknown as { __registrations: string[] };
			w.__registrations = [];
			const register = ServiceWorkerContainer.prototype.register;
			ServiceWorkerContainer.prototype.register = function (this: ServiceWorkerContainer, ...args: Parameters<typeof register>) {
				const app = document.querySelector('[data-testid="app"]');
				w.__registrations.push(`${app?.getAttribute('data-signaling')} ${app?.getAttribute('data-call')}`);
				return register.apply(this, args);
			};
		});
		const registrations = (p: Page) => p.evaluate(() => (window as unknown as { __registrations: string[] }).__registrations);
		try {
			await ready(a);
			// The callee is dialled the moment it has its ID: it has not been quiet for a moment.
			const b = await context.newPage();
			await b.goto(server.url);
			await waitForState(b, 'signaling', 'open');
			await dialId(a, await peerIdOf(b));
			await waitForState(b, 'call', 'ringing');
			await b.waitForTimeout(QUIET_MS + 1500);
			// Never while it rings. (Dialled the moment it has its ID, it has normally not been
			// quiet yet; on a busy machine the dial can come later than QUIET_MS.)
			for (const state of await registrations(b)) expect(state).toBe('open idle');
			const quietBeforeDial = (await registrations(b)).length > 0;
			// The caller may have gone quiet before the dial (its camera takes longer than its ID
			// on a busy machine), but never registers while calling.
			for (const state of await registrations(a)) expect(state).toBe('open idle');
			await cameraLive(b);
			await b.getByTestId('accept').click();
			await Promise.all([waitForState(a, 'call', 'connected'), waitForState(b, 'call', 'connected')]);
			// A connected call no longer needs the server: the worker installs during it.
			if (!quietBeforeDial) await expect.poll(() => registrations(b), { timeout: 15_000 }).toEqual(['open connected']);
			await expect.poll(async () => (await registrations(a)).length, { timeout: 15_000 }).toBe(1);
			expect(['open idle', 'open connected']).toContain((await registrations(a))[0]);
			await controlled(a);
			await waitForState(a, 'call', 'connected');
		} finally {
			await close();
		}
	});

	test('a new version waiting during a call does not reload the page; the tap is kept and applied when the call ends', async () => {
		const { page: a, context, close } = await persistent();
		try {
			await ready(a);
			await controlled(a);
			const b = await context.newPage();
			await ready(b);

			await placeCall(a, b);

			swChange = '\n// a new version\n';
			await a.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.update());
			const update = a.getByTestId('update');
			await update.waitFor({ timeout: 20_000 });
			expect(await update.textContent()).toContain('Update');
			await Promise.all([mark(a), mark(b)]);

			await update.click();
			await expect.poll(() => update.textContent({ timeout: 1000 }).catch(() => 'gone'), { timeout: 5000 }).toContain('after the call');
			// Media keeps flowing, and the new worker is still waiting: no skip-waiting was sent.
			await waitForState(a, 'call', 'connected');
			const waiting = () => a.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.waiting?.state ?? null);
			expect(await waiting()).toBe('installed');
			expect(await marked(a)).toBe(true);

			const reloaded = a.waitForEvent('load', { timeout: 20_000 });
			await a.getByTestId('hangup').click();
			await reloaded;
			expect(await marked(a)).toBe(false);
			await a.waitForSelector('[data-testid="app"]');
			expect(await waiting()).toBe(null);
			expect(await a.getByTestId('update').count()).toBe(0);
			// The other tab is told, but not reloaded under the user.
			expect(await marked(b)).toBe(true);
		} finally {
			swChange = null;
			await close();
		}
	});

	test('a new version still installing when the app registers its worker is announced too', async () => {
		const { page: a, context, close } = await persistent();
		try {
			await ready(a);
			await controlled(a);
			const b = await context.newPage();
			// Recorded in b before the app's own register() (it waits for the app to be quiet):
			// the new version is found at once and takes 4 s to install, so the app registers
			// while it is still installing.
			await context.addInitScript(() => {
				const w = window as unknown as { __registered: number };
				w.__registered = 0;
				const register = ServiceWorkerContainer.prototype.register;
				ServiceWorkerContainer.prototype.register = function (this: ServiceWorkerContainer, ...args: Parameters<typeof register>) {
					w.__registered = performance.now();
					return register.apply(this, args);
				};
			});
			swChange = "\n// a slow new version\nself.addEventListener('install', (e) => e.waitUntil(new Promise((r) => setTimeout(r, 4000))));\n";
			await b.goto(server.url);
			const found = await b.evaluate(async () => {
				const registration = await navigator.serviceWorker.getRegistration();
				await registration?.update();
				const worker = registration?.installing;
				worker?.addEventListener('statechange', () => {
					if (worker.state === 'installed') (window as unknown as { __installed: number }).__installed = performance.now();
				});
				return worker ? performance.now() : null;
			});
			expect(found).not.toBe(null);
			const update = b.getByTestId('update');
			await update.waitFor({ timeout: 20_000 });
			const { registered, installed } = await b.evaluate(() => {
				const w = window as unknown as { __registered: number; __installed: number };
				return { registered: w.__registered, installed: w.__installed };
			});
			// The case under test: the app registered after the update was found, before it had
			// installed.
			expect(registered).toBeGreaterThan(found!);
			expect(registered).toBeLessThan(installed);
			expect(await update.textContent()).toContain('Update');
		} finally {
			swChange = null;
			await close();
		}
	});
});

describe('views', () => {
	let browser: Browser;
	beforeAll(async () => {
		browser = await launch();
	});
	afterAll(async () => {
		await browser?.close();
	});

	/** Visible words of three or more Latin letters, leaving out values that are not prose. */
	async function englishWords(page: Page, ignore: string[]): Promise<string[]> {
		const text = await page.evaluate(() => {
			const parts = [document.body.innerText];
			for (const el of document.querySelectorAll<HTMLElement>('[aria-label], [title], [placeholder], img[alt]')) {
				if (!el.checkVisibility()) continue;
				for (const attr of ['aria-label', 'title', 'placeholder', 'alt']) parts.push(el.getAttribute(attr) ?? '');
			}
			return parts.join('\n');
		});
		let rest = text;
		for (const value of ignore) if (value) rest = rest.split(value).join(' ');
		return (rest.match(/[A-Za-z]{3,}/g) ?? []).filter((w) => w !== 'CamCall');
	}

	test('the language switch changes the visible text, is remembered, and leaves no English prose in Chinese', async () => {
		const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'en-US' });
		const page = await context.newPage();
		await ready(page);
		const dial = page.getByTestId('dial');
		expect(await dial.textContent()).toBe('Call');
		expect(await englishWords(page, [])).toContain('Call');

		await page.getByLabel('Language').selectOption('zh');
		await expect.poll(() => dial.textContent()).toBe('呼叫');
		expect(await page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
		const id = (await textOf(page, 'peer-id')).trim();
		const link = await page.getByTestId('share-link').inputValue();
		const camera = await page.evaluate(
			() => ((document.querySelector('[data-testid="local-video"]') as HTMLVideoElement).srcObject as MediaStream).getVideoTracks()[0].label
		);
		expect(await englishWords(page, [link, id, camera])).toEqual([]);

		await page.getByTestId('gallery-link').click();
		await page.waitForURL('**/gallery');
		expect(await englishWords(page, [])).toEqual([]);
		await page.goBack();

		await page.reload();
		await page.waitForSelector('[data-testid="dial"]');
		expect(await dial.textContent()).toBe('呼叫');
		await page.getByLabel('语言').selectOption('en');
		await expect.poll(() => dial.textContent()).toBe('Call');
		await context.close();
	});

	test('iOS Safari gets the Add to Home Screen hint, saying calls notify only once installed; not once installed (standalone)', async () => {
		const iPhone =
			'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
		// iOS (16.4 and later) delivers web push only to an app on the home screen.
		const hints = {
			'en-US': ['To install: tap Share', 'Notifications of incoming calls need the installed app.'],
			'zh-CN': ['添加到主屏幕', '来电通知需要先安装应用。']
		};
		for (const [locale, standalone] of [['en-US', false], ['en-US', true], ['zh-CN', false]] as const) {
			const context = await browser.newContext({ viewport: { width: 390, height: 844 }, userAgent: iPhone, locale });
			if (standalone) await context.addInitScript(() => Object.defineProperty(navigator, 'standalone', { value: true }));
			const page = await context.newPage();
			await page.goto(server.url);
			await page.waitForSelector('[data-testid="dial"]');
			const hint = page.getByTestId('install-hint');
			if (standalone) {
				// Long enough for the hint to have shown if it were going to.
				await page.waitForTimeout(500);
				expect(await hint.count()).toBe(0);
			} else {
				for (const words of hints[locale]) await expect.poll(() => hint.textContent()).toContain(words);
			}
			await context.close();
		}
	});

	test('before a call the browser loads only JavaScript that `npm run size` counts, and the QR code only on a tap', async () => {
		const model = await measure();
		const counted = new Set<string>(model.beforeCall.parts.map((p) => p.url));
		const firstLoad = model.firstLoad.parts.map((p) => p.url);
		const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
		const warm = new Set(model.warmUp.parts.map((p) => p.url));
		// The moment the camera is live and the ID registered, as the page saw it.
		await context.addInitScript(() => {
			const w = window as unknown as { __readyAt?: number };
			new MutationObserver(() => {
				const app = document.querySelector('[data-testid="app"]');
				if (w.__readyAt === undefined && app?.getAttribute('data-capture') === 'live' && app.getAttribute('data-signaling') === 'open') {
					w.__readyAt = performance.now();
				}
			}).observe(document, { subtree: true, attributes: true, childList: true });
		});
		const page = await context.newPage();
		const loaded = new Set<string>();
		page.on('request', (req) => {
			const url = new URL(req.url());
			if (url.origin === server.url && url.pathname.endsWith('.js')) loaded.add(url.pathname);
		});
		await ready(page);
		await page.waitForFunction(() => !!document.querySelector('[data-testid="peer-id"]')?.textContent?.trim());
		// Give workbox-window and every other start-up import the chance to show up.
		await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 20_000 });
		const beforeCall = [...loaded];
		expect(beforeCall.filter((u) => !counted.has(u) && !warm.has(u))).toEqual([]);
		for (const url of firstLoad) expect(beforeCall).toContain(url);
		expect(model.onDemand.length).toBeGreaterThan(0);
		for (const url of model.onDemand) expect(beforeCall).not.toContain(url);
		// The warm-up (what a first call would wait for) loads, but only once the app is ready.
		expect(model.warmStarts.length).toBeGreaterThan(0);
		for (const url of model.warmStarts) expect(beforeCall).toContain(url);
		const early = await page.evaluate((urls) => {
			const readyAt = (window as unknown as { __readyAt: number }).__readyAt;
			return performance
				.getEntriesByType('resource')
				.filter((r) => urls.includes(new URL(r.name).pathname) && r.startTime < readyAt)
				.map((r) => `${new URL(r.name).pathname} at ${Math.round(r.startTime)} ms, ready at ${Math.round(readyAt)} ms`);
		}, [...warm]);
		expect(early).toEqual([]);

		await page.getByTestId('qr').click();
		await page.getByRole('dialog').locator('img').waitFor();
		expect([...loaded].some((u) => model.onDemand.includes(u))).toBe(true);
		await context.close();
	});
});
