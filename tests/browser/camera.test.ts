import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser } from 'playwright-core';
import {
	decodesFrames,
	instrumentWebRtc,
	launch,
	liveTracks,
	openAppPage,
	placeCall,
	setPageHidden,
	videoTrackStates,
	setCameraPermission,
	startServer,
	stateOf,
	textOf,
	waitForState,
	type Served
} from './harness';

let server: Served;
beforeAll(async () => {
	server = await startServer();
});
afterAll(async () => {
	await server?.close();
});

const localLabel = (page: import('playwright-core').Page) =>
	page.evaluate(() => {
		const v = document.querySelector('[data-testid=local-video]') as HTMLVideoElement;
		return (v.srcObject as MediaStream | null)?.getVideoTracks()[0]?.label ?? '';
	});

describe('camera in real Chromium with fake devices', () => {
	let browser: Browser;
	beforeAll(async () => {
		browser = await launch({ deviceCount: 3 });
	});
	afterAll(async () => {
		await browser?.close();
	});

	test('permission granted: the camera goes live at once and the preview decodes frames, video only', async () => {
		const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
		await context.addInitScript(instrumentWebRtc);
		const page = await context.newPage();
		await page.goto(server.url);
		await waitForState(page, 'capture', 'live');
		expect(await stateOf(page, 'permission')).toBe('granted');
		expect(await decodesFrames(page, 'local-video')).toBe(true);
		expect(await localLabel(page)).toBe('fake_device_0');
		// The camera screen must not open the microphone.
		const kinds = await page.evaluate(() =>
			(window as unknown as { __gum: MediaStreamTrack[] }).__gum.map((t) => t.kind)
		);
		expect(kinds).toEqual(['video']);
		await context.close();
	});

	test('flip: another device is live and the old track has ended', async () => {
		const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
		const page = await context.newPage();
		await page.goto(server.url);
		await waitForState(page, 'capture', 'live');
		await page.evaluate(() => {
			const v = document.querySelector('[data-testid=local-video]') as HTMLVideoElement;
			(window as unknown as { __old: MediaStreamTrack }).__old = (v.srcObject as MediaStream).getVideoTracks()[0];
		});
		await page.getByTestId('flip').click();
		await expect.poll(() => localLabel(page)).not.toBe('fake_device_0');
		await waitForState(page, 'capture', 'live');
		expect(await page.evaluate(() => (window as unknown as { __old: MediaStreamTrack }).__old.readyState)).toBe('ended');
		// Flip again until device 2 (device 1 is the fake depth camera): it decodes frames.
		await page.getByTestId('flip').click();
		await expect.poll(() => localLabel(page)).toBe('fake_device_2');
		await waitForState(page, 'capture', 'live');
		expect(await decodesFrames(page, 'local-video')).toBe(true);
		await context.close();
	});
});

describe('camera failures', () => {
	test('no prompt on load; permission denied → denied, a message, a retry, and the camera opens once allowed', async () => {
		const browser = await launch({ fakeUi: false, deviceCount: 2 });
		try {
			const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
			const page = await context.newPage();
			await page.goto('about:blank');
			await setCameraPermission(browser, page, server.url, 'denied');
			await page.goto(server.url);
			await waitForState(page, 'permission', 'denied');
			// Nothing was asked for on load: the camera waits for a tap.
			expect(await stateOf(page, 'capture')).toBe('idle');
			await page.getByTestId('camera-start').click();
			await waitForState(page, 'capture', 'failed');
			await expect.poll(() => textOf(page, 'error')).toContain('Camera access was blocked');
			// A retry is offered; tapping it while still blocked fails the same way.
			await page.getByTestId('camera-start').click();
			await waitForState(page, 'capture', 'failed');
			// The user allows the camera in the browser settings: the app notices and opens it.
			await setCameraPermission(browser, page, server.url, 'granted');
			await waitForState(page, 'permission', 'granted');
			await waitForState(page, 'capture', 'live');
			expect(await textOf(page, 'error')).toBe('');
		} finally {
			await browser.close();
		}
	});

	test('prompt state: nothing opens by itself; once granted the camera starts without another tap', async () => {
		const browser = await launch({ fakeUi: false, deviceCount: 1 });
		try {
			const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
			const page = await context.newPage();
			await page.goto(server.url);
			await waitForState(page, 'permission', 'prompt');
			await page.waitForTimeout(500);
			expect(await stateOf(page, 'capture')).toBe('idle');
			expect(await page.getByTestId('camera-start').isEnabled()).toBe(true);
			await setCameraPermission(browser, page, server.url, 'granted');
			await waitForState(page, 'permission', 'granted');
			await waitForState(page, 'capture', 'live');
		} finally {
			await browser.close();
		}
	});

	test('no camera at all → the no-camera message', async () => {
		const browser = await launch({ deviceCount: 0 });
		try {
			const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
			await page.goto(server.url);
			await waitForState(page, 'capture', ['failed', 'idle']);
			if ((await stateOf(page, 'capture')) === 'idle') await page.getByTestId('camera-start').click();
			await waitForState(page, 'capture', 'failed');
			await expect.poll(() => textOf(page, 'error')).toContain('No camera was found');
		} finally {
			await browser.close();
		}
	});
});

describe('camera only while needed: the page hidden and shown again', () => {
	let browser: Browser;
	beforeAll(async () => {
		browser = await launch({ deviceCount: 3 });
	});
	afterAll(async () => {
		await browser?.close();
	});

	/** The preview's own video track: what the user would see. */
	const previewTrack = (page: import('playwright-core').Page) =>
		page.evaluate(() => {
			const v = document.querySelector('[data-testid=local-video]') as HTMLVideoElement | null;
			const track = (v?.srcObject as MediaStream | null)?.getVideoTracks()[0];
			return track ? track.readyState : 'none';
		});

	test('outside a call: hidden ends the video track (capture idle); visible again opens a new live one', async () => {
		const page = await openAppPage(browser, server.url, { waitOpen: false });
		try {
			expect(await videoTrackStates(page)).toEqual(['live']);
			await setPageHidden(page, true);
			await waitForState(page, 'capture', 'idle');
			expect(await videoTrackStates(page)).toEqual(['ended']);
			expect(await liveTracks(page, 'video')).toBe(0);
			expect(await previewTrack(page)).not.toBe('live');
			await setPageHidden(page, false);
			await waitForState(page, 'capture', 'live');
			// A new track: the old one stays ended.
			expect(await videoTrackStates(page)).toEqual(['ended', 'live']);
			expect(await previewTrack(page)).toBe('live');
			expect(await decodesFrames(page, 'local-video')).toBe(true);
		} finally {
			await page.context().close();
		}
	});

	test('in a call the camera stays on while hidden and the far side keeps decoding it; a call that ends while hidden releases it', async () => {
		const a = await openAppPage(browser, server.url);
		const b = await openAppPage(browser, server.url);
		try {
			await placeCall(a, b);
			await setPageHidden(a, true);
			// Longer than any release would take (the outside-a-call case is immediate).
			await a.waitForTimeout(1000);
			expect(await stateOf(a, 'capture')).toBe('live');
			expect(await videoTrackStates(a)).toEqual(['live']);
			expect(await decodesFrames(b, 'remote-video')).toBe(true);
			// The far side hangs up while this page is in the background: its camera goes.
			await b.getByTestId('hangup').click();
			await waitForState(a, 'call', 'ended');
			await waitForState(a, 'capture', 'idle');
			expect(await liveTracks(a, 'video')).toBe(0);
			await setPageHidden(a, false);
			await waitForState(a, 'capture', 'live');
			expect(await liveTracks(a, 'video')).toBe(1);
		} finally {
			await a.context().close();
			await b.context().close();
		}
	});
});
