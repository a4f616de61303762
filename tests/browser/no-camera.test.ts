/**
 * The no-camera path (issue 15, item 4), in real Chromium: a camera the browser has blocked is
 * explained on arrival, before any tap, with the steps to unblock it; and a person without a
 * camera (and without a microphone) can still call and be called, receive-only: the far side
 * is told "camera off"/"muted", the call never stalls or flaps into recovery, and nothing is
 * painted over the far side's video.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
	decodesFrames,
	dialId,
	instrumentWebRtc,
	launch,
	openPcs,
	peerIdOf,
	setCameraPermission,
	startServer,
	stateOf,
	textOf,
	waitForState,
	type Served
} from './harness';

let server: Served;
let cameraBrowser: Browser;
let noCameraBrowser: Browser;

beforeAll(async () => {
	server = await startServer();
	cameraBrowser = await launch({ deviceCount: 1 });
	noCameraBrowser = await launch({ deviceCount: 0 });
});
afterAll(async () => {
	await cameraBrowser?.close();
	await noCameraBrowser?.close();
	await server?.close();
});

const PHONE = { width: 390, height: 844 };

/** A page in `browser` that waits for its ID (not for a camera). */
async function openReady(browser: Browser, prepare?: (context: BrowserContext) => Promise<void>): Promise<Page> {
	const context = await browser.newContext({ viewport: PHONE });
	await context.addInitScript(instrumentWebRtc);
	await prepare?.(context);
	const page = await context.newPage();
	await page.goto(server.url);
	await waitForState(page, 'signaling', 'open');
	return page;
}

/** No microphone either: every audio request fails the way a phone without one fails. */
async function withoutMicrophone(context: BrowserContext) {
	await context.addInitScript(() => {
		const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
		navigator.mediaDevices.getUserMedia = (constraints) =>
			constraints?.audio ? Promise.reject(new DOMException('Requested device not found', 'NotFoundError')) : original(constraints);
	});
}

/** The call states seen on `page` from now on (sampled every 100 ms). */
async function recordCallStates(page: Page) {
	await page.evaluate(() => {
		const seen: string[] = [];
		(window as unknown as { __callStates: string[] }).__callStates = seen;
		const app = document.querySelector('[data-testid="app"]')!;
		const note = () => {
			const s = app.getAttribute('data-call') ?? '';
			if (seen.at(-1) !== s) seen.push(s);
		};
		note();
		new MutationObserver(note).observe(app, { attributes: true, attributeFilter: ['data-call'] });
	});
	return () => page.evaluate(() => (window as unknown as { __callStates: string[] }).__callStates);
}

/** Whether the topmost element at the far side's video's centre is that video. */
function remoteVideoOnTop(page: Page) {
	return page.getByTestId('remote-video').evaluate((el) => {
		const r = el.getBoundingClientRect();
		const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
		return hit === el || (!!hit && el.contains(hit)) || (hit as HTMLElement | null)?.closest('[data-testid="remote-video"]') === el;
	});
}

describe('camera blocked', () => {
	test('explained on arrival without a tap: data-permission=denied, the error with steps for Android Chrome and iOS Safari', async () => {
		const browser = await launch({ fakeUi: false, deviceCount: 1 });
		try {
			const context = await browser.newContext({ viewport: PHONE });
			const page = await context.newPage();
			await page.goto('about:blank');
			await setCameraPermission(browser, page, server.url, 'denied');
			await page.goto(server.url);
			await waitForState(page, 'permission', 'denied');
			await expect.poll(() => textOf(page, 'error')).toContain('blocked');
			const text = await textOf(page, 'error');
			expect(text).toMatch(/Android/);
			expect(text).toMatch(/iPhone|iOS|Safari/);
			// Nothing was tapped, nothing was asked: the camera is still idle, and still offered.
			expect(await stateOf(page, 'capture')).toBe('idle');
			expect(await page.getByTestId('camera-start').isVisible()).toBe(true);
			// The same in Chinese.
			await page.getByRole('combobox').selectOption('zh');
			await expect.poll(() => textOf(page, 'error')).toMatch(/已被阻止|被阻止|屏蔽/);
			// Allowed in the settings: the message goes and the camera opens.
			await setCameraPermission(browser, page, server.url, 'granted');
			await waitForState(page, 'capture', 'live');
			await expect.poll(() => textOf(page, 'error')).toBe('');
		} finally {
			await browser.close();
		}
	});
});

describe('calls without a camera (receive-only)', () => {
	async function callAndHold(caller: Page, callee: Page) {
		await dialId(caller, await peerIdOf(callee));
		await waitForState(callee, 'call', 'ringing');
		await callee.getByTestId('accept').click();
		await Promise.all([waitForState(caller, 'call', 'connected'), waitForState(callee, 'call', 'connected')]);
		const callerStates = await recordCallStates(caller);
		const calleeStates = await recordCallStates(callee);
		// Long enough for the media watchdog to have cried wolf several times over.
		await caller.waitForTimeout(6_000);
		expect(await callerStates()).toEqual(['connected']);
		expect(await calleeStates()).toEqual(['connected']);
	}

	test('a caller with no camera: connects and stays connected, sees the far side, who is told "camera off"', async () => {
		const caller = await openReady(noCameraBrowser);
		const callee = await openReady(cameraBrowser);
		await waitForState(callee, 'capture', 'live');
		try {
			await callAndHold(caller, callee);
			expect(await decodesFrames(caller, 'remote-video')).toBe(true);
			expect(await remoteVideoOnTop(caller)).toBe(true);
			await expect.poll(() => callee.locator('[data-testid="remote-camera-off"]').count()).toBe(1);
			await caller.getByTestId('hangup').click();
			await waitForState(caller, 'call', ['ended', 'idle']);
			await expect.poll(() => openPcs(caller)).toBe(0);
			await expect.poll(() => openPcs(callee)).toBe(0);
		} finally {
			await caller.context().close();
			await callee.context().close();
		}
	});

	test('a callee with no camera and no microphone: answers and sees the caller, who is told "camera off" and "muted"', async () => {
		const caller = await openReady(cameraBrowser);
		const callee = await openReady(noCameraBrowser, withoutMicrophone);
		await waitForState(caller, 'capture', 'live');
		try {
			await callAndHold(caller, callee);
			expect(await decodesFrames(callee, 'remote-video')).toBe(true);
			// "Start camera" is not painted over the caller's video.
			expect(await remoteVideoOnTop(callee)).toBe(true);
			await expect.poll(() => caller.locator('[data-testid="remote-camera-off"]').count()).toBe(1);
			await expect.poll(() => caller.locator('[data-testid="remote-muted"]').count()).toBe(1);
		} finally {
			await caller.context().close();
			await callee.context().close();
		}
	});
});
