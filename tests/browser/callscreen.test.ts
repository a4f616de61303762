/**
 * The call screen on a phone (issue 15, items 5 and 7), in real Chromium between two pages:
 * every control on screen and reachable in portrait and landscape without scrolling, notices
 * that never resize the far side's video, the screen kept awake for the call (Screen Wake Lock),
 * the system's call controls (Media Session), picture-in-picture while the page is hidden, and
 * the camera and call details behind the info button instead of on the video.
 */
import { describe, expect, test } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { openAppPage, placeCall, stateOf, waitForState, type AppPageOptions } from './harness';
import { serverAndBrowser } from './fixture';

const env = serverAndBrowser();

const PORTRAIT = { width: 390, height: 844 };
const LANDSCAPE = { width: 844, height: 390 };
/** Everything a person presses in a call. */
const CONTROLS = ['mic-toggle', 'camera-toggle', 'hangup', 'flip', 'shutter', 'info'];

async function inCall(aOptions: AppPageOptions = {}, bOptions: AppPageOptions = {}): Promise<{ a: Page; b: Page }> {
	const a = await openAppPage(env.browser, env.server.url, aOptions);
	const b = await openAppPage(env.browser, env.server.url, bOptions);
	await placeCall(a, b);
	// The call's layer (its controls) loads when the call starts.
	await a.getByTestId('mic-toggle').waitFor();
	return { a, b };
}

async function closeAll(...pages: Page[]) {
	for (const p of pages) await p.context().close();
}

interface Box {
	x: number;
	y: number;
	width: number;
	height: number;
}

async function boxOf(page: Page, testid: string): Promise<Box> {
	const box = await page.getByTestId(testid).boundingBox();
	expect(box, testid).not.toBeNull();
	return box!;
}

/** Whether a person can press it: the topmost element at its centre is the control itself. */
async function onTop(page: Page, testid: string): Promise<boolean> {
	return page.getByTestId(testid).evaluate((el) => {
		const r = el.getBoundingClientRect();
		const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
		return !!hit && (hit === el || el.contains(hit));
	});
}

/** Nothing to scroll, and trying leaves the page where it was. */
async function expectNoScroll(page: Page) {
	const scroll = await page.evaluate(() => {
		const root = document.scrollingElement!;
		window.scrollTo(0, 10_000);
		root.scrollTop = 10_000;
		return { top: root.scrollTop, extra: root.scrollHeight - root.clientHeight };
	});
	expect(scroll).toEqual({ top: 0, extra: 0 });
}

async function expectControlsOnScreen(page: Page, viewport: { width: number; height: number }, when: string) {
	for (const id of CONTROLS) {
		const box = await boxOf(page, id);
		const where = `${id} ${when} at ${viewport.width}×${viewport.height}: ${JSON.stringify(box)}`;
		expect(box.x, where).toBeGreaterThanOrEqual(0);
		expect(box.y, where).toBeGreaterThanOrEqual(0);
		expect(box.x + box.width, where).toBeLessThanOrEqual(viewport.width);
		expect(box.y + box.height, where).toBeLessThanOrEqual(viewport.height);
		expect(Math.min(box.width, box.height), `${where}: a touch target of at least 48 px`).toBeGreaterThanOrEqual(48);
		expect((await page.getByTestId(id).getAttribute('aria-label'))?.trim(), `${id}: its accessible name`).toBeTruthy();
		expect(await onTop(page, id), `${where}: covered by something`).toBe(true);
	}
	await expectNoScroll(page);
}

describe('the call screen fits the phone', () => {
	test.each([
		['portrait', PORTRAIT],
		['landscape', LANDSCAPE]
	] as const)('%s: every control on screen and pressable without scrolling; notices never resize the video', async (_, viewport) => {
		const { a, b } = await inCall({ viewport });
		await expectControlsOnScreen(a, viewport, 'connected');
		// Landscape: a rail at the right edge, not a bar across the bottom.
		const hangup = await boxOf(a, 'hangup');
		if (viewport === LANDSCAPE) expect(hangup.x).toBeGreaterThan(viewport.width * 0.75);
		else expect(hangup.y).toBeGreaterThan(viewport.height * 0.75);

		const video = await boxOf(a, 'remote-video');
		const unchanged = async (what: string) => expect(await boxOf(a, 'remote-video'), `the video after ${what}`).toEqual(video);

		// The far side turns its camera off and mutes: two notices here.
		await b.getByTestId('camera-toggle').click();
		await a.getByTestId('remote-camera-off').waitFor();
		await unchanged('"camera off"');
		await b.getByTestId('mic-toggle').click();
		await a.getByTestId('remote-muted').waitFor();
		await unchanged('"muted"');
		// Our own mute, our own camera off.
		await a.getByTestId('mic-toggle').click();
		await a.getByTestId('you-muted').waitFor();
		await a.getByTestId('camera-toggle').click();
		await a.getByTestId('your-camera-off').waitFor();
		await unchanged('our own notices');
		// A photo: the photo messages (here, sending it to the far side) come as a notice too.
		const shutter = a.getByTestId('shutter');
		await expect.poll(() => shutter.isEnabled()).toBe(true);
		await shutter.click();
		await expect.poll(() => a.getByTestId('photo-send-last').count(), { timeout: 20_000 }).toBe(1);
		await unchanged('the photo notice');
		// The details sheet.
		await a.getByTestId('info').click();
		await a.getByTestId('info-sheet').waitFor();
		await unchanged('the details sheet');
		// Every notice is on screen, and none of them covers a control.
		for (const id of ['remote-camera-off', 'remote-muted', 'you-muted', 'your-camera-off', 'photo-send-last', 'info-sheet']) {
			const box = await boxOf(a, id);
			expect(box.y + box.height, id).toBeLessThanOrEqual(viewport.height);
		}
		await expectControlsOnScreen(a, viewport, 'with every notice up');
		await closeAll(a, b);
	});
});

/**
 * Stands in for the Screen Wake Lock API before the app loads: records each request and
 * release, and lets the test hide and show the page as a browser does (it drops the lock).
 */
function fakeWakeLock() {
	const w = window as unknown as {
		__wake: { requests: number; releases: number; held: number; hide(): void; show(): void };
	};
	let visibility: DocumentVisibilityState = 'visible';
	Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => visibility });
	Object.defineProperty(document, 'hidden', { configurable: true, get: () => visibility === 'hidden' });
	const sentinels = new Set<EventTarget & { released: boolean; release(): Promise<void> }>();
	const release = (s: EventTarget & { released: boolean }) => {
		if (s.released) return;
		s.released = true;
		sentinels.delete(s as never);
		w.__wake.releases++;
		w.__wake.held = sentinels.size;
		s.dispatchEvent(new Event('release'));
	};
	w.__wake = {
		requests: 0,
		releases: 0,
		held: 0,
		hide() {
			visibility = 'hidden';
			for (const s of [...sentinels]) release(s);
			document.dispatchEvent(new Event('visibilitychange'));
		},
		show() {
			visibility = 'visible';
			document.dispatchEvent(new Event('visibilitychange'));
		}
	};
	const wakeLock = {
		async request(type: string) {
			if (type !== 'screen') throw new TypeError('screen only');
			if (visibility !== 'visible') throw new DOMException('hidden', 'NotAllowedError');
			w.__wake.requests++;
			const sentinel = Object.assign(new EventTarget(), {
				released: false,
				type: 'screen',
				release: async () => release(sentinel)
			});
			sentinels.add(sentinel);
			w.__wake.held = sentinels.size;
			return sentinel;
		}
	};
	Object.defineProperty(navigator, 'wakeLock', { configurable: true, get: () => wakeLock });
}

const withFakeWakeLock = { prepare: (c: BrowserContext) => c.addInitScript(fakeWakeLock) };
const wake = (page: Page) =>
	page.evaluate(() => {
		const { requests, releases, held } = (window as unknown as { __wake: { requests: number; releases: number; held: number } }).__wake;
		return { requests, releases, held };
	});

describe('the screen stays awake during a call', () => {
	test('held from answer to hang-up on both sides, asked again when the page is shown again, released after', async () => {
		const a = await openAppPage(env.browser, env.server.url, withFakeWakeLock);
		const b = await openAppPage(env.browser, env.server.url, withFakeWakeLock);
		// Not for the camera screen, nor while a call only rings.
		await a.getByTestId('dial-input').fill(((await b.getByTestId('peer-id').textContent()) ?? '').trim());
		await a.getByTestId('dial').click();
		await waitForState(b, 'call', 'ringing');
		await b.waitForTimeout(300);
		expect((await wake(b)).requests).toBe(0);
		expect((await wake(a)).requests).toBe(0);
		await b.getByTestId('accept').click();
		await Promise.all([waitForState(a, 'call', 'connected'), waitForState(b, 'call', 'connected')]);
		await expect.poll(() => wake(a)).toMatchObject({ held: 1 });
		await expect.poll(() => wake(b)).toMatchObject({ held: 1 });
		// From connecting to connected it was kept, not released and asked for again.
		expect(await wake(b)).toEqual({ requests: 1, releases: 0, held: 1 });

		// Hidden: the browser drops it; shown again: asked for again.
		await a.evaluate(() => (window as unknown as { __wake: { hide(): void } }).__wake.hide());
		expect(await wake(a)).toMatchObject({ held: 0, requests: 1 });
		await a.evaluate(() => (window as unknown as { __wake: { show(): void } }).__wake.show());
		await expect.poll(() => wake(a)).toMatchObject({ held: 1, requests: 2 });

		await a.getByTestId('hangup').click();
		await Promise.all([waitForState(a, 'call', 'ended'), waitForState(b, 'call', 'ended', 5000)]);
		await expect.poll(() => wake(a)).toMatchObject({ held: 0 });
		await expect.poll(() => wake(b)).toMatchObject({ held: 0 });
		// And nothing asks for it once the call is over.
		await a.evaluate(() => (window as unknown as { __wake: { hide(): void; show(): void } }).__wake.hide());
		await a.evaluate(() => (window as unknown as { __wake: { show(): void } }).__wake.show());
		await a.waitForTimeout(300);
		expect(await wake(a)).toMatchObject({ held: 0, requests: 2 });
		await closeAll(a, b);
	});

	test("Chromium's own Screen Wake Lock: a real lock held during the call, released at hang-up", async () => {
		// Watches the real API (every call goes through to Chromium's).
		const spy = {
			prepare: (c: BrowserContext) =>
				c.addInitScript(() => {
					const w = window as unknown as { __sentinels: WakeLockSentinel[] };
					w.__sentinels = [];
					const request = navigator.wakeLock.request.bind(navigator.wakeLock);
					navigator.wakeLock.request = async (type?: WakeLockType) => {
						const sentinel = await request(type);
						w.__sentinels.push(sentinel);
						return sentinel;
					};
				})
		};
		const locks = (page: Page) =>
			page.evaluate(() => (window as unknown as { __sentinels: WakeLockSentinel[] }).__sentinels.map((s) => (s.released ? 'released' : 'held')));
		const { a, b } = await inCall(spy, spy);
		await expect.poll(() => locks(a)).toEqual(['held']);
		await expect.poll(() => locks(b)).toEqual(['held']);
		await a.getByTestId('hangup').click();
		await Promise.all([waitForState(a, 'call', 'ended'), waitForState(b, 'call', 'ended', 5000)]);
		await expect.poll(() => locks(a)).toEqual(['released']);
		await expect.poll(() => locks(b)).toEqual(['released']);
		await closeAll(a, b);
	});

	test('a browser without the API: the call works all the same, without a page error', async () => {
		const none = { prepare: (c: BrowserContext) => c.addInitScript(() => void delete (Navigator.prototype as { wakeLock?: unknown }).wakeLock) };
		const a = await openAppPage(env.browser, env.server.url, none);
		const errors: string[] = [];
		a.on('pageerror', (e) => errors.push(e.message));
		const b = await openAppPage(env.browser, env.server.url);
		expect(await a.evaluate(() => 'wakeLock' in navigator)).toBe(false);
		await placeCall(a, b);
		await a.waitForTimeout(500);
		expect(await stateOf(a, 'call')).toBe('connected');
		await a.getByTestId('hangup').click();
		await Promise.all([waitForState(a, 'call', 'ended'), waitForState(b, 'call', 'ended', 5000)]);
		expect(errors).toEqual([]);
		await closeAll(a, b);
	});
});

/** Records the page's Media Session action handlers (calling through to Chromium's). */
function recordMediaSession() {
	const w = window as unknown as { __handlers: Record<string, (() => void) | null> };
	w.__handlers = {};
	const set = navigator.mediaSession.setActionHandler.bind(navigator.mediaSession);
	navigator.mediaSession.setActionHandler = (action, handler) => {
		set(action, handler);
		w.__handlers[action] = handler as (() => void) | null;
	};
}
const handlers = (page: Page) =>
	page.evaluate(() =>
		Object.fromEntries(Object.entries((window as unknown as { __handlers: Record<string, unknown> }).__handlers).map(([k, v]) => [k, typeof v]))
	);
const press = (page: Page, action: string) =>
	page.evaluate((name) => (window as unknown as { __handlers: Record<string, () => void> }).__handlers[name](), action);

describe("the system's call controls and picture-in-picture", () => {
	test('Media Session hang-up, microphone and camera act on the call, and are cleared after it', async () => {
		const { a, b } = await inCall({ prepare: (c) => c.addInitScript(recordMediaSession) });
		await expect.poll(() => handlers(a)).toMatchObject({ hangup: 'function', togglemicrophone: 'function', togglecamera: 'function' });
		await press(a, 'togglemicrophone');
		await expect.poll(() => a.getByTestId('mic-toggle').getAttribute('aria-pressed')).toBe('true');
		await b.getByTestId('remote-muted').waitFor();
		await press(a, 'togglecamera');
		await expect.poll(() => a.getByTestId('camera-toggle').getAttribute('aria-pressed')).toBe('true');
		await press(a, 'hangup');
		await Promise.all([waitForState(a, 'call', 'ended'), waitForState(b, 'call', 'ended', 5000)]);
		await expect.poll(() => handlers(a)).toMatchObject({ hangup: 'object', togglemicrophone: 'object', togglecamera: 'object' });
		await closeAll(a, b);
	});

	test('the far side in picture-in-picture while the page is hidden; back when shown; gone at hang-up', async () => {
		// The page can be hidden on demand (headless Chromium never hides a page itself).
		const hideable = {
			prepare: (c: BrowserContext) =>
				c.addInitScript(() => {
					let visibility: DocumentVisibilityState = 'visible';
					Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => visibility });
					Object.defineProperty(document, 'hidden', { configurable: true, get: () => visibility === 'hidden' });
					(window as unknown as { __show(v: DocumentVisibilityState): void }).__show = (v) => {
						visibility = v;
						document.dispatchEvent(new Event('visibilitychange'));
					};
				})
		};
		const show = (page: Page, v: DocumentVisibilityState) =>
			page.evaluate((state) => (window as unknown as { __show(v: DocumentVisibilityState): void }).__show(state), v);
		const inPip = (page: Page) => page.evaluate(() => document.pictureInPictureElement?.getAttribute('data-testid') ?? null);
		const { a, b } = await inCall(hideable);
		expect(await a.evaluate(() => document.pictureInPictureEnabled)).toBe(true);
		await expect.poll(() => a.getByTestId('remote-video').evaluate((v: HTMLVideoElement) => !v.paused && v.readyState >= 2)).toBe(true);
		expect(await inPip(a)).toBeNull();
		await show(a, 'hidden');
		await expect.poll(() => inPip(a)).toBe('remote-video');
		await show(a, 'visible');
		await expect.poll(() => inPip(a)).toBeNull();
		await show(a, 'hidden');
		await expect.poll(() => inPip(a)).toBe('remote-video');
		await a.getByTestId('hangup').click();
		await waitForState(a, 'call', 'ended');
		await expect.poll(() => inPip(a)).toBeNull();
		await closeAll(a, b);
	});
});

describe('details behind a tap', () => {
	test('camera label, resolution and call stats are not on the video; the info button shows them, translated, and closes them', async () => {
		const { a, b } = await inCall();
		const label = await a.evaluate(() => {
			const v = document.querySelector('[data-testid=local-video]') as HTMLVideoElement;
			return (v.srcObject as MediaStream).getVideoTracks()[0].label;
		});
		expect(label).toMatch(/fake_device/);
		// By default: neither the label nor any stats anywhere on screen.
		const visibleText = () => a.evaluate(() => document.body.innerText);
		expect(await visibleText()).not.toContain(label);
		expect(await visibleText()).not.toMatch(/\d+ ms|fps|frames\/s/);
		expect(await a.getByTestId('info-sheet').count()).toBe(0);

		const info = a.getByTestId('info');
		expect(await info.getAttribute('aria-expanded')).toBe('false');
		await info.click();
		const sheet = a.getByTestId('info-sheet');
		await sheet.waitFor();
		expect(await info.getAttribute('aria-expanded')).toBe('true');
		expect(await a.getByTestId('camera-label').textContent()).toBe(label);
		const size = await a.evaluate(() => {
			const track = ((document.querySelector('[data-testid=local-video]') as HTMLVideoElement).srcObject as MediaStream).getVideoTracks()[0];
			const { width, height } = track.getSettings();
			return `${width}×${height}`;
		});
		expect(await a.getByTestId('camera-resolution').textContent()).toBe(size);
		const stats = a.getByTestId('call-stats');
		await expect.poll(() => stats.getAttribute('data-route')).toBe('host');
		await expect.poll(() => stats.textContent(), { timeout: 5000 }).toMatch(/Round trip\s*\d+ ms/);
		expect(await stats.textContent()).toContain('Direct, same network');
		// The controls stay usable with the sheet open.
		for (const id of CONTROLS) expect(await onTop(a, id), id).toBe(true);

		// In Chinese, the route too.
		await a.getByRole('combobox', { name: 'Language' }).selectOption('zh');
		await expect.poll(() => stats.textContent()).toContain('直连（同一网络）');
		expect(await stats.textContent()).toMatch(/往返时间\s*\d+ 毫秒/);
		expect(await stats.textContent()).not.toMatch(/host|Round trip/);

		// Closed by its button (the focus goes back to the info button), or by Escape.
		await a.getByTestId('info-close').click();
		expect(await sheet.count()).toBe(0);
		expect(await a.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('info');
		await info.click();
		await sheet.waitFor();
		await a.keyboard.press('Escape');
		expect(await sheet.count()).toBe(0);
		await closeAll(a, b);
	});

	test('outside a call the camera is not labelled on the video either; the same button shows it, and nothing about calls', async () => {
		const a = await openAppPage(env.browser, env.server.url);
		const label = await a.evaluate(() => {
			const v = document.querySelector('[data-testid=local-video]') as HTMLVideoElement;
			return (v.srcObject as MediaStream).getVideoTracks()[0].label;
		});
		expect(await a.evaluate(() => document.body.innerText)).not.toContain(label);
		await a.getByTestId('info').click();
		await a.getByTestId('info-sheet').waitFor();
		expect(await a.getByTestId('camera-label').textContent()).toBe(label);
		expect(await a.getByTestId('call-stats').count()).toBe(0);
		// Your ID stays where it was, once.
		expect(await a.getByTestId('peer-id').count()).toBe(1);
		await closeAll(a);
	});
});
