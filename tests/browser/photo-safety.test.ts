/**
 * Issue 10's photo rules, tried from outside: a real second page (a plain PeerJS client that
 * speaks the app's photo protocol, tests/browser/sender/) in a real call with the app sends
 * what a hostile or careless peer would, and the app must ask, bound, check and answer.
 */
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { openAppPage, peerIdOf, root, textOf, waitForState } from './harness';
import { serverAndBrowser } from './fixture';

const env = serverAndBrowser({
	// Twenty-odd photo connections in seconds from one address, each with its offer and
	// candidates: past the server's per-address limits (as they should be for a stranger), so a
	// relayed offer could be dropped and a send wait out its 20 s. The photo rules are tested
	// here, not the limits (tests/server covers those).
	rateLimit: false,
	extraStatic: {
		'/test-sender/peerjs': path.join(root, 'node_modules/peerjs/dist'),
		'/test-sender': path.join(root, 'tests/browser/sender')
	}
});

type Said = { t: string; why?: string }[];
interface Offer {
	name: string;
	size: number;
	type: string;
}

/** The sender page, registered; and the app page with its ID. */
async function pair() {
	const app = await openAppPage(env.browser, env.server.url);
	const context = await env.browser.newContext();
	const sender = await context.newPage();
	await sender.goto(`${env.server.url}/test-sender/index.html`);
	const senderId = await sender.evaluate(() => (window as never as { sender: { ready: Promise<string> } }).sender.ready);
	return { app, sender, senderId, appId: await peerIdOf(app) };
}

/** The sender calls the app, the app accepts: a connected call between them. */
async function inCall(app: Page, sender: Page, appId: string) {
	const placed = sender.evaluate((to) => (window as never as { sender: { call(to: string): Promise<string> } }).sender.call(to), appId);
	await waitForState(app, 'call', 'ringing');
	await app.getByTestId('accept').click();
	await placed;
	await waitForState(app, 'call', 'connected');
}

function send(sender: Page, to: string, offer: Offer, bytes: number[]): Promise<Said> {
	return sender.evaluate(
		({ to, offer, bytes }) => (window as never as { sender: { sendPhoto(to: string, o: Offer, b: number[]): Promise<Said> } }).sender.sendPhoto(to, offer, bytes),
		{ to, offer, bytes }
	);
}

const png = (sender: Page, w: number, h: number) =>
	sender.evaluate(({ w, h }) => (window as never as { sender: { png(w: number, h: number): Promise<number[]> } }).sender.png(w, h), { w, h });

/** How many photos the app has stored (IndexedDB, as the gallery reads it). */
function storedPhotos(app: Page): Promise<{ name: string; type: string; width: number; height: number; from: string }[]> {
	return app.evaluate(
		() =>
			new Promise((resolve, reject) => {
				const open = indexedDB.open('camcall');
				open.onerror = () => reject(open.error);
				open.onsuccess = () => {
					const db = open.result;
					if (!db.objectStoreNames.contains('photos')) return resolve([]);
					const all = db.transaction('photos').objectStore('photos').getAll();
					all.onsuccess = () => resolve(all.result.map((p: Record<string, unknown>) => ({ name: p.name, type: p.type, width: p.width, height: p.height, from: p.from })) as never);
					all.onerror = () => reject(all.error);
				};
			})
	);
}

describe('photos from the far peer need consent and have bounds', () => {
	test('the first photo asks; accepted, it is stored under our own name and type, and the sender hears "done"; the next one of that call does not ask', async () => {
		const { app, sender, senderId, appId } = await pair();
		await inCall(app, sender, appId);
		const bytes = await png(sender, 64, 48);
		// Named and typed like an executable page: neither may reach the stored photo.
		const pending = send(sender, appId, { name: 'invoice.html', size: bytes.length, type: 'image/webp' }, bytes);
		const consent = app.getByTestId('photo-consent');
		await consent.waitFor({ timeout: 10_000 });
		expect(await consent.textContent()).toContain(senderId);
		expect(await storedPhotos(app)).toEqual([]);
		await app.getByTestId('photo-consent-accept').click();
		const said = await pending;
		expect(said.map((m) => m.t)).toEqual(['asking', 'ready', 'done']);
		const stored = await storedPhotos(app);
		expect(stored).toHaveLength(1);
		expect(stored[0]).toMatchObject({ type: 'image/png', width: 64, height: 48, from: senderId });
		expect(stored[0].name).toMatch(/^camcall-\d{8}-\d{6}\.png$/);
		await app.getByTestId('photo-received').waitFor();

		const again = await send(sender, appId, { name: 'b.png', size: bytes.length, type: 'image/png' }, bytes);
		expect(again.map((m) => m.t)).toEqual(['ready', 'done']);
		expect(await storedPhotos(app)).toHaveLength(2);
		await app.context().close();
		await sender.context().close();
	});

	test('declined: the sender is told, and the rest of the call’s photos are refused without asking', async () => {
		const { app, sender, appId } = await pair();
		await inCall(app, sender, appId);
		const bytes = await png(sender, 16, 16);
		const pending = send(sender, appId, { name: 'a.png', size: bytes.length, type: 'image/png' }, bytes);
		await app.getByTestId('photo-consent').waitFor({ timeout: 10_000 });
		await app.getByTestId('photo-consent-decline').click();
		expect(await pending).toEqual([{ t: 'asking' }, { t: 'refuse', why: 'declined' }]);
		expect(await send(sender, appId, { name: 'a.png', size: bytes.length, type: 'image/png' }, bytes)).toEqual([{ t: 'refuse', why: 'declined' }]);
		expect(await app.getByTestId('photo-consent').count()).toBe(0);
		expect(await storedPhotos(app)).toEqual([]);
		await app.context().close();
		await sender.context().close();
	});

	test('not an image, too many pixels, too many bytes, past the call’s count: each refused with the reason on both sides, nothing stored', async () => {
		const { app, sender, appId } = await pair();
		await inCall(app, sender, appId);
		const good = await png(sender, 8, 8);
		const first = send(sender, appId, { name: 'a.png', size: good.length, type: 'image/png' }, good);
		await app.getByTestId('photo-consent-accept').click({ timeout: 10_000 });
		expect((await first).at(-1)).toEqual({ t: 'done' });

		// HTML announced as a PNG.
		const html = [...Buffer.from('<html><script>alert(document.cookie)</script></html>')];
		expect((await send(sender, appId, { name: 'x.png', size: html.length, type: 'image/png' }, html)).at(-1)).toEqual({ t: 'refuse', why: 'not-image' });
		await expect.poll(() => textOf(app, 'error')).toContain('not a photo');

		// A real PNG whose header declares 100,000 × 100,000 (10 gigapixels) in a few bytes.
		const bomb = [...good];
		bomb.splice(16, 8, 0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0);
		expect((await send(sender, appId, { name: 'x.png', size: bomb.length, type: 'image/png' }, bomb)).at(-1)).toEqual({ t: 'refuse', why: 'too-large' });
		await expect.poll(() => textOf(app, 'error')).toContain('50 megapixels');

		// Over 15 MB: refused on the offer, before a byte moves.
		expect(await send(sender, appId, { name: 'x.png', size: 15 * 1024 * 1024 + 1, type: 'image/png' }, [])).toEqual([{ t: 'refuse', why: 'too-large' }]);
		expect(await storedPhotos(app)).toHaveLength(1);

		// 20 per call: the first one and the two refused after their bytes came count; the one
		// refused on its offer does not. Fill up to 20; the next is refused as over the limit.
		let sent = 3;
		while (sent < 20) {
			const said = await send(sender, appId, { name: 'x.png', size: good.length, type: 'image/png' }, good);
			expect(said.at(-1), `photo ${sent + 1}: ${JSON.stringify(said)}`).toEqual({ t: 'done' });
			sent++;
		}
		expect(await send(sender, appId, { name: 'x.png', size: good.length, type: 'image/png' }, good)).toEqual([{ t: 'refuse', why: 'limit' }]);
		await expect.poll(() => textOf(app, 'error')).toContain('limit of 20 photos');
		expect(await storedPhotos(app)).toHaveLength(18);
		expect(await waitForState(app, 'call', 'connected').then(() => true)).toBe(true);
		await app.context().close();
		await sender.context().close();
	}, 120_000);

	test('a photo that arrives but cannot be stored: the sender is told it was not saved', async () => {
		const { app, sender, appId } = await pair();
		await app.evaluate(() => {
			IDBObjectStore.prototype.put = function () {
				throw new DOMException('Quota exceeded', 'QuotaExceededError');
			};
		});
		await inCall(app, sender, appId);
		const bytes = await png(sender, 8, 8);
		const pending = send(sender, appId, { name: 'a.png', size: bytes.length, type: 'image/png' }, bytes);
		await app.getByTestId('photo-consent-accept').click({ timeout: 10_000 });
		expect((await pending).at(-1)).toEqual({ t: 'refuse', why: 'not-saved' });
		await expect.poll(() => textOf(app, 'error')).toContain('storage for this app is full');
		await app.context().close();
		await sender.context().close();
	});
});

describe('a stranger who knows only the ID', () => {
	// One retry: in one of two full `npm test` runs on 2026-11-28 (and before that only with
	// browser files run in parallel), never alone nor under a synthetic CPU load, the photo
	// connection closed on the sender before the refusal's reason reached it. Nothing was
	// stored even then; what closes it is not yet known.
	test('a connection shaped like a control message, for no call of ours, gets no WebRTC answer and no open channel; a photo offer outside a call is refused', { retry: 1 }, async () => {
		const { app, sender, appId } = await pair();
		const result = await sender.evaluate(
			(to) => (window as never as { sender: { connectOnly(to: string, m: unknown): Promise<unknown> } }).sender.connectOnly(to, { control: { type: 'cancel', callId: 'abc' } }),
			appId
		);
		expect(result).toEqual({ opened: false, answered: false });
		expect(await app.getAttribute('[data-testid="app"]', 'data-call')).toBe('idle');
		const bytes = await png(sender, 8, 8);
		expect(await send(sender, appId, { name: 'a.png', size: bytes.length, type: 'image/png' }, bytes)).toEqual([{ t: 'refuse', why: 'invalid' }]);
		expect(await storedPhotos(app)).toEqual([]);
		await app.context().close();
		await sender.context().close();
	});
});
