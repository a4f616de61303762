/**
 * Poisoned signaling messages against the app in real Chromium. The app signals through the
 * reference `peer` 1.0.2 PeerServer, which relays payloads unchecked as the public PeerJS cloud
 * does, so only the app's own guard (machines/actors/peer-guard.ts) stands between a stranger's
 * frames and PeerJS. The stranger is a raw socket client on the same server.
 */
import http from 'node:http';
import express from 'express';
import { ExpressPeerServer } from 'peer';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { decodesFrames, instrumentWebRtc, launch, peerIdOf, placeCall, startServer, waitForState, type Served } from './harness';
import { register, type PeerSocket } from '../server/peer-client';
import captured from '../unit/fixtures/peerjs-frames.json';

type Payload = Record<string, unknown>;
const real = captured.frames as unknown as Record<'mediaOffer' | 'dataOffer' | 'candidate' | 'answer', { payload: Payload }>;

/** A frame the stranger sends to `dst`: a real PeerJS payload with fields replaced. */
function frame(type: string, dst: string, base: Payload, fields: Payload = {}) {
	return { type, dst, payload: { ...base, ...fields } };
}

let reference: http.Server;
let referenceUrl: string;
/** Its sockets, WebSockets included: dropped at the end even if a test left one open. */
const sockets = new Set<import('node:net').Socket>();
/** The reference server's clients by ID: the test can drop one's socket as a server would. */
const clients = new Map<string, { getSocket(): { close(): void } | null }>();
let app: Served;
let browser: Browser;

beforeAll(async () => {
	const server = express();
	reference = http.createServer(server);
	reference.on('connection', (socket) => {
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
	});
	const peerServer = ExpressPeerServer(reference, { path: '/', expire_timeout: 1500, cleanup_out_msgs: 500 });
	peerServer.on('connection', (client) => clients.set(client.getId(), client));
	// peer 1.0.2 re-emits socket errors here; unheard, Node would exit.
	peerServer.on('error', () => {});
	server.use('/peerjs', peerServer);
	await new Promise<void>((resolve) => reference.listen(0, '127.0.0.1', resolve));
	const port = (reference.address() as { port: number }).port;
	referenceUrl = `http://127.0.0.1:${port}`;
	// The app, telling its pages (/signaling.json) to signal through the reference server.
	app = await startServer({ peerServer: false, signalingPort: port });
	browser = await launch();
});
afterAll(async () => {
	await browser?.close();
	await app?.close();
	for (const socket of sockets) socket.destroy();
	await new Promise((resolve) => reference?.close(resolve));
});

/** An app page with its camera live and registered, every page error and console error kept. */
async function openApp(): Promise<{ page: Page; errors: string[] }> {
	const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
	await context.addInitScript(instrumentWebRtc);
	const page = await context.newPage();
	const errors: string[] = [];
	page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
	page.on('console', (m) => {
		if (m.type() === 'error') errors.push(`console: ${m.text()}`);
	});
	await page.goto(app.url);
	await waitForState(page, 'capture', 'live');
	await waitForState(page, 'signaling', 'open');
	return { page, errors };
}

/** Registers `id` on the reference server, retrying while the server still holds it for
 * another socket that is closing. */
async function registerWhenFree(id: string, token: string): Promise<PeerSocket> {
	for (let i = 0; ; i++) {
		try {
			return await register(referenceUrl, id, token);
		} catch (e) {
			if (i >= 20) throw e;
			await new Promise((r) => setTimeout(r, 50));
		}
	}
}

/** The refusals /inspect's event log shows, as `kind reason` (it lists the newest first). */
async function refusalsShown(page: Page): Promise<string[]> {
	const texts = await page.locator('[data-testid="event-log"] li[data-event="peer.refusedMessage"] .payload').allTextContents();
	return texts.map((t) => JSON.parse(t) as { from: string | null; kind: string; reason: string }).map((r) => `${r.from} ${r.kind} ${r.reason}`);
}

describe('poisoned offers through a server that checks nothing', () => {
	test('no page error; each refused and shown in /inspect; then a real call connects with media and "New ID" works', async () => {
		const { page: a, errors } = await openApp();
		const { page: b, errors: bErrors } = await openApp();
		const aId = await peerIdOf(a);
		const mallory = await register(referenceUrl, 'mallory', 'tm');

		const poison: [ReturnType<typeof frame>, string][] = [
			[frame('OFFER', aId, real.dataOffer.payload, { serialization: 'constructor' }), 'OFFER serialization'],
			[frame('OFFER', aId, real.dataOffer.payload, { serialization: '__proto__' }), 'OFFER serialization'],
			[frame('OFFER', aId, real.dataOffer.payload, { serialization: 'toString' }), 'OFFER serialization'],
			[frame('OFFER', aId, real.mediaOffer.payload, { metadata: { big: 'x'.repeat(100_000) } }), 'OFFER metadata'],
			[frame('OFFER', aId, real.mediaOffer.payload, { metadata: ['callId'] }), 'OFFER metadata'],
			[frame('OFFER', aId, real.dataOffer.payload, { metadata: 'control' }), 'OFFER metadata'],
			[frame('OFFER', aId, real.mediaOffer.payload, { metadata: null }), 'OFFER metadata'],
			[frame('OFFER', aId, real.mediaOffer.payload, { sdp: undefined }), 'OFFER sdp'],
			[frame('OFFER', aId, real.dataOffer.payload, { sdp: { type: 'offer', sdp: 7 } }), 'OFFER sdp'],
			[frame('OFFER', aId, real.mediaOffer.payload, { connectionId: 'mc_' + 'x'.repeat(100_000) }), 'OFFER connectionId'],
			[frame('OFFER', aId, real.mediaOffer.payload, { type: 'screen' }), 'OFFER type'],
			[frame('CANDIDATE', aId, real.candidate.payload, { candidate: 'garbage' }), 'CANDIDATE candidate'],
			[frame('ANSWER', aId, real.answer.payload, { sdp: 'v=0' }), 'ANSWER sdp']
		];
		for (const [f] of poison) mallory.send(f);

		// A well-formed call from the stranger rings; garbage for that very connection is refused
		// (PeerJS would hand it to addIceCandidate), and the caller's cancel still ends the ringing.
		const callId = 'mallory-call-1';
		const ringing = { ...real.mediaOffer.payload, connectionId: 'mc_mallory1', metadata: { callId } };
		mallory.send(frame('OFFER', aId, ringing));
		await waitForState(a, 'call', 'ringing');
		// The poison came first on the same socket: PeerJS has had all of it.
		expect(errors).toEqual([]);
		mallory.send(frame('CANDIDATE', aId, real.candidate.payload, { connectionId: 'mc_mallory1', candidate: 42 }));
		mallory.send(frame('OFFER', aId, real.dataOffer.payload, { connectionId: 'dc_mallory1', metadata: { control: { type: 'cancel', callId } } }));
		await waitForState(a, 'call', 'ended');
		expect(await a.getAttribute('[data-testid="app"]', 'data-signaling')).toBe('open');
		expect(errors).toEqual([]);

		// Every refusal is in /inspect's event log, from the stranger, with its reason.
		await a.locator('[data-testid="inspect-link"]').click();
		const expected = [...poison.map(([, what]) => `mallory ${what}`), 'mallory CANDIDATE candidate'];
		await expect.poll(() => refusalsShown(a).then((r) => r.length)).toBe(expected.length);
		expect((await refusalsShown(a)).sort()).toEqual(expected.sort());
		await a.locator('[data-testid="back-link"]').click();
		await waitForState(a, 'signaling', 'open');

		// A real call from the poisoned page connects, with media both ways.
		await placeCall(a, b);
		expect(await decodesFrames(a, 'remote-video')).toBe(true);
		expect(await decodesFrames(b, 'remote-video')).toBe(true);
		await a.getByTestId('hangup').click();
		await waitForState(b, 'call', 'ended', 5000);

		// "New ID": the server drops the page and someone else takes its ID meanwhile, so its
		// reconnect is refused (unavailable-id). A fresh ID destroys the poisoned Peer and makes a
		// new one: destroy() used to throw here and leave signaling stuck.
		clients.get(aId)!.getSocket()!.close();
		await waitForState(a, 'signaling', ['disconnected', 'reconnecting']);
		const thief = await registerWhenFree(aId, 'someone-else');
		await waitForState(a, 'signaling', 'failed');
		await a.getByTestId('fresh-id').click();
		await waitForState(a, 'signaling', 'open');
		const fresh = await peerIdOf(a);
		expect(fresh).not.toBe('');
		expect(fresh).not.toBe(aId);

		expect(errors).toEqual([]);
		expect(bErrors).toEqual([]);
		thief.close();
		mallory.close();
		await a.context().close();
		await b.context().close();
	});
});
