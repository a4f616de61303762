/**
 * WebKit, the engine under every iOS browser, against the production build: Debian's
 * WebKitGTK MiniBrowser with mock cameras, driven through WebKitWebDriver (./webkit.ts).
 * What a person does there: the camera, a flip, a photo that reaches the gallery (WebKit's
 * IndexedDB refuses Blobs: the app stores the bytes), the failure states, the inspector, and
 * the clear "calls unavailable" state (this WebKitGTK build has no RTCPeerConnection).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startServer, type Served } from './harness';
import { launchWebKit, skipWebkit, type WebKitPage } from './webkit';

let server: Served;
let webkit: Awaited<ReturnType<typeof launchWebKit>>;

const cameraLabel = (page: WebKitPage) =>
	page.run<string>(`const v = document.querySelector('[data-testid="local-video"]'); return v && v.srcObject ? v.srcObject.getVideoTracks()[0].label : ''`);

/** The preview really plays: its clock moves and it has a picture size. */
async function previewPlays(page: WebKitPage): Promise<void> {
	const read = () =>
		page.run<[number, number]>(`const v = document.querySelector('[data-testid="local-video"]'); return [v.currentTime, v.videoWidth]`);
	const [t0] = await read();
	await page.poll(read, ([t, w]) => t > t0 && w > 0, 'the preview to play');
}

/** The photo records as IndexedDB holds them: the form of the bytes, and the type. */
const storedPhotos = (page: WebKitPage) =>
	page.run<{ form: string; type: string; size: number }[]>(`
		return new Promise((resolve, reject) => {
			const open = indexedDB.open('camcall');
			// Not created yet: leave it to the app (creating it here would make it without the store).
			open.onupgradeneeded = () => open.transaction.abort();
			open.onerror = () => (open.error && open.error.name === 'AbortError' ? resolve([]) : reject(open.error));
			open.onsuccess = () => {
				const db = open.result;
				if (!db.objectStoreNames.contains('photos')) return resolve([]);
				const all = db.transaction('photos').objectStore('photos').getAll();
				all.onsuccess = () => { db.close(); resolve(all.result.map((r) => ({ form: Object.prototype.toString.call(r.blob), type: r.type, size: r.size }))); };
				all.onerror = () => reject(all.error);
			};
		})`);

/** Every grid image (or the full view) decoded: natural sizes, 0 while not loaded. */
const imageWidths = (page: WebKitPage, testid: string) =>
	page.run<number[]>(`return [...document.querySelectorAll('[data-testid="' + arguments[0] + '"]')].map((i) => (i.complete ? i.naturalWidth : 0))`, testid);

async function openLive(): Promise<WebKitPage> {
	const page = await webkit.open();
	await page.goto(server.url + '/');
	// WebKit has no camera permission in the Permissions API for a fresh page: the app waits
	// for a tap, as on a first visit in Safari.
	await page.waitForState('permission', 'prompt');
	expect(await page.stateOf('capture')).toBe('idle');
	await page.tap('camera-start');
	await page.waitForState('capture', 'live');
	return page;
}

describe.skipIf(skipWebkit)('WebKit (the iOS engine) with mock cameras', () => {
	beforeAll(async () => {
		server = await startServer();
		webkit = await launchWebKit();
	});
	afterAll(async () => {
		await webkit?.close();
		await server?.close();
	});

	test('the camera goes live on a tap and plays; flip opens the other camera and ends the first', async () => {
		const page = await openLive();
		try {
			expect(await page.stateOf('permission')).toBe('granted');
			expect(await cameraLabel(page)).toBe('Mock video device 1');
			await previewPlays(page);
			await page.run(`window.__first = document.querySelector('[data-testid="local-video"]').srcObject.getVideoTracks()[0]`);
			await page.tap('flip');
			await page.poll(() => cameraLabel(page), (l) => l === 'Mock video device 2', 'the second mock camera');
			await page.waitForState('capture', 'live');
			expect(await page.run(`return window.__first.readyState`)).toBe('ended');
			await previewPlays(page);
			// And back: the first camera opens again.
			await page.tap('flip');
			await page.poll(() => cameraLabel(page), (l) => l === 'Mock video device 1', 'the first mock camera again');
			await page.waitForState('capture', 'live');
		} finally {
			await page.close();
		}
	});

	test('a photo is saved although WebKit refuses Blobs, shows in the gallery at full size, and survives a reload', async () => {
		const page = await openLive();
		try {
			const trackWidth = await page.run<number>(
				`return document.querySelector('[data-testid="local-video"]').srcObject.getVideoTracks()[0].getSettings().width || 0`
			);
			expect(trackWidth).toBeGreaterThanOrEqual(640);
			await page.tap('shutter');
			const stored = await page.poll(() => storedPhotos(page), (list) => list.length === 1, 'one stored photo');
			// The Blob was refused and the bytes were stored: the fallback is what saved it.
			expect(stored[0]).toMatchObject({ form: '[object ArrayBuffer]', type: 'image/jpeg' });
			expect(stored[0].size).toBeGreaterThan(1000);
			expect(await page.textOf('error')).not.toMatch(/could not be saved/);

			for (const visit of ['first visit', 'after a reload']) {
				await page.goto(server.url + '/gallery');
				const thumbs = await page.poll(() => imageWidths(page, 'photo'), (w) => w.length === 1 && w[0] > 0, `the photo in the gallery (${visit})`);
				expect(thumbs[0]).toBeGreaterThanOrEqual(640);
				await page.tap('photo');
				const [full] = await page.poll(() => imageWidths(page, 'photo-full'), (w) => w.length === 1 && w[0] > 0, `the full photo (${visit})`);
				expect(full).toBe(trackWidth);
			}
		} finally {
			await page.close();
		}
	});

	test('without WebRTC the app says calls are unavailable, once: no retry loop, no ID to share, the camera still works', async () => {
		const page = await openLive();
		try {
			await page.waitForState('signaling', 'failed');
			expect(await page.run(`return typeof RTCPeerConnection`)).toBe('undefined');
			const message = 'This browser cannot make calls: it has no WebRTC.';
			await page.poll(() => page.textOf('error'), (t) => t.includes(message), 'the calls-unavailable message');
			const topbar = await page.run<string>(`return document.querySelector('header').innerText`);
			expect(topbar).toContain('Calls unavailable');
			// Nothing to retry, dial or share: retrying cannot give this browser WebRTC.
			const buttons = await page.run<string[]>(`return [...document.querySelectorAll('[data-testid="error"] button')].map((b) => b.innerText)`);
			expect(buttons).not.toContain('Retry');
			expect(await page.count('[data-testid="dial-input"], [data-testid="share-link"], [data-testid="qr"]')).toBe(0);
			// It stays said: no attempt after attempt behind it.
			await new Promise((r) => setTimeout(r, 3000));
			expect(await page.stateOf('signaling')).toBe('failed');
			expect(await page.stateOf('capture')).toBe('live');
		} finally {
			await page.close();
		}
	});

	test('a device without cameras: a tap says no camera was found (WebKit answers OverconstrainedError)', async () => {
		const page = await webkit.open({ mockCameras: false });
		try {
			await page.goto(server.url + '/');
			await page.waitForState('permission', 'prompt');
			await page.tap('camera-start');
			await page.waitForState('capture', 'failed');
			await page.poll(() => page.textOf('error'), (t) => t.includes('No camera was found on this device.'), 'the no-camera message');
		} finally {
			await page.close();
		}
	});

	test('a browser with no camera API: the start button is off and the app says why, without a tap', async () => {
		const page = await webkit.open({ mediaStream: false });
		try {
			await page.goto(server.url + '/');
			await page.waitForState('permission', 'unsupported');
			expect(await page.run(`return document.querySelector('[data-testid="camera-start"]').disabled`)).toBe(true);
			await page.poll(
				() => page.textOf('error'),
				(t) => t.includes('This browser does not let web apps use a camera.'),
				'the no-camera-API message'
			);
			expect(await page.stateOf('capture')).toBe('idle');
			// No "tap to turn on your camera" under a button that cannot.
			expect(await page.textOf('app')).not.toContain('Tap to turn on your camera');
		} finally {
			await page.close();
		}
	});

	test('/inspect draws every machine and follows the live session', async () => {
		const page = await openLive();
		try {
			await page.goto(server.url + '/inspect');
			const machines = await page.poll(
				() => page.run<string[]>(`return [...document.querySelectorAll('[data-testid="statechart"]')].map((c) => c.dataset.machine)`),
				(m) => m.length >= 5,
				'the state charts'
			);
			expect(machines).toEqual(expect.arrayContaining(['session', 'capture', 'signaling', 'permission']));
			// A fresh page (a navigation, not the in-app link): the camera waits for a tap
			// again, and the chart shows the capture machine idle and signaling failed.
			const active = (machine: string) =>
				page.run<string[]>(
					`return [...document.querySelectorAll('[data-testid="statechart"][data-machine="' + arguments[0] + '"] [data-active="true"]')].map((n) => n.dataset.stateNode)`,
					machine
				);
			await page.poll(() => active('signaling'), (a) => a.includes('failed'), 'signaling failed in the chart');
			expect(await active('capture')).toContain('idle');
			expect(await page.count('[data-testid="event-log"]')).toBe(1);
		} finally {
			await page.close();
		}
	});
});
