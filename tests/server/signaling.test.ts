/**
 * The signaling server from outside, as a stock PeerJS client and as a stranger would use it:
 * real sockets against the real server on loopback.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import express from 'express';
import { ExpressPeerServer } from 'peer';
import { serve } from '../../src/server/app.js';
import { answer, candidate, connect, dataOffer, offer, register, root, type PeerSocket } from './peer-client';

type Served = Awaited<ReturnType<typeof serve>>;
const open: { close(): unknown }[] = [];
afterEach(async () => {
	for (const thing of open.splice(0).reverse()) await thing.close();
});

async function server(options: Parameters<typeof serve>[0] extends infer O ? Partial<O> : never = {}): Promise<Served> {
	const s = await serve({ buildDir: path.join(root, 'build'), app: false, port: 0, host: '127.0.0.1', ...options });
	open.push(s);
	return s;
}

function track<T extends PeerSocket>(p: T): T {
	open.push(p);
	return p;
}

async function pair(url: string) {
	const a = track(await register(url, 'alice'));
	const b = track(await register(url, 'bob'));
	return { a, b };
}

/** Relays one OFFER a → b and one ANSWER back, as a call set-up does. */
async function relayWorks(a: PeerSocket, b: PeerSocket, aId: string, bId: string) {
	a.send(offer(bId));
	const got = await b.next('OFFER');
	expect(got.src).toBe(aId);
	b.send(answer(aId));
	expect((await a.next('ANSWER')).src).toBe(bId);
}

function tmpDir() {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camcall-ids-'));
	open.push({ close: () => fs.rmSync(dir, { recursive: true, force: true }) });
	return dir;
}

describe('a stock PeerJS client sees what the stock PeerServer gives it', () => {
	/** One conversation, run against `peer` 1.0.2 and against ours: the transcripts must match. */
	async function transcript(url: string) {
		const log: unknown[] = [];
		const a = track(await connect(url, 'alice', 'ta'));
		log.push(await a.next('OPEN'));
		const b = track(await connect(url, 'bob', 'tb'));
		log.push(await b.next('OPEN'));
		for (const frame of [offer('bob'), dataOffer('bob'), candidate('bob')]) {
			a.send(frame);
			log.push(await b.next(() => true));
		}
		a.send({ type: 'HEARTBEAT' });
		b.send(answer('alice'));
		log.push(await a.next(() => true));
		b.send({ type: 'LEAVE', dst: 'alice' });
		log.push(await a.next(() => true));
		// Someone else's token for a live ID.
		const thief = track(await connect(url, 'alice', 'other'));
		log.push(await thief.next(() => true));
		// An OFFER to nobody comes back as EXPIRE.
		a.send(offer('nobody'));
		log.push(await a.next('EXPIRE', 4000));
		const wrongKey = track(await connect(url, 'carol', 'tc', { key: 'nope' }));
		log.push(await wrongKey.next(() => true));
		const res = await fetch(`${url}/peerjs/peerjs/id`);
		// The reference hands out UUIDs, ours words and digits: both are fresh valid PeerJS IDs.
		log.push({ id: /^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(await res.text()), type: res.headers.get('content-type') });
		return log;
	}

	it('OPEN, relays, ID-TAKEN, EXPIRE, bad key and /id match peer 1.0.2 message for message', async () => {
		const app = express();
		const stockServer = http.createServer(app);
		app.use('/peerjs', ExpressPeerServer(stockServer, { path: '/', expire_timeout: 1500, cleanup_out_msgs: 500 }));
		await new Promise<void>((resolve) => stockServer.listen(0, '127.0.0.1', resolve));
		open.push({ close: () => new Promise((r) => stockServer.close(r)) });
		open.push({ close: () => stockServer.closeAllConnections() });
		const stockUrl = `http://127.0.0.1:${(stockServer.address() as { port: number }).port}`;

		const ours = await server();
		const expected = await transcript(stockUrl);
		const actual = await transcript(ours.url);
		expect(actual).toEqual(expected);
		expect(expected).toHaveLength(11);
	});
});

describe('hostile frames cost only their sender', () => {
	const hostile: [string, (ws: WebSocket) => void][] = [
		['not json', (ws) => ws.send('not json')],
		['null', (ws) => ws.send('null')],
		['an array', (ws) => ws.send('[1,2,3]')],
		['a number', (ws) => ws.send('42')],
		['unknown type', (ws) => ws.send(JSON.stringify({ type: 'HELLO', dst: 'bob' }))],
		['EXPIRE from a client', (ws) => ws.send(JSON.stringify({ type: 'EXPIRE', dst: 'bob' }))],
		['OFFER without payload', (ws) => ws.send(JSON.stringify({ type: 'OFFER', dst: 'bob' }))],
		['OFFER without dst', (ws) => ws.send(JSON.stringify({ ...offer('bob'), dst: undefined }))],
		['OFFER with serialization constructor', (ws) => ws.send(JSON.stringify(dataOffer('bob', { serialization: 'constructor' })))],
		['OFFER with serialization __proto__', (ws) => ws.send(JSON.stringify(dataOffer('bob', { serialization: '__proto__' })))],
		['media OFFER naming a serializer', (ws) => ws.send(JSON.stringify(offer('bob', { serialization: 'toString' })))],
		['OFFER with 9 KB of metadata', (ws) => ws.send(JSON.stringify(offer('bob', { metadata: 'x'.repeat(9000) })))],
		['OFFER with a 100-char connectionId', (ws) => ws.send(JSON.stringify(offer('bob', { connectionId: 'x'.repeat(100) })))],
		['OFFER whose sdp is an answer', (ws) => ws.send(JSON.stringify(offer('bob', { sdp: { type: 'answer', sdp: 'v=0' } })))],
		['CANDIDATE over 4 KB', (ws) => ws.send(JSON.stringify({ ...candidate('bob'), payload: { ...candidate('bob').payload, candidate: { candidate: 'c'.repeat(5000) } } }))],
		['dst with a slash', (ws) => ws.send(JSON.stringify(offer('../bob')))],
		['a binary frame', (ws) => ws.send(Buffer.from([1, 2, 3]), { binary: true })]
	];

	it.each(hostile)('%s: ERROR to the sender, nothing relayed, the socket still usable', async (_name, sendIt) => {
		const s = await server();
		const { a, b } = await pair(s.url);
		sendIt(a.ws);
		const error = await a.next('ERROR');
		expect(typeof error.payload.msg).toBe('string');
		// Still registered and relaying; bob saw nothing of it.
		await relayWorks(a, b, 'alice', 'bob');
		expect(b.messages).toEqual([]);
	});

	const fatal: [string, (ws: WebSocket) => void, number][] = [
		['invalid UTF-8 in a text frame', (ws) => ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false }), 1007],
		['a 2 MB frame', (ws) => ws.send('x'.repeat(2 * 1024 * 1024)), 1009],
		['a 65 KB OFFER (SDP over the frame limit)', (ws) => ws.send(JSON.stringify(offer('bob', { sdp: { type: 'offer', sdp: 'a'.repeat(65 * 1024) } }))), 1009]
	];

	it.each(fatal)('%s: the sender loses its socket, everyone else carries on', async (_name, sendIt, code) => {
		const s = await server();
		const { a, b } = await pair(s.url);
		const c = track(await register(s.url, 'carol'));
		sendIt(a.ws);
		expect((await a.waitClosed()).code).toBe(code);
		await relayWorks(c, b, 'carol', 'bob');
		// alice can come straight back with her token.
		const again = track(await register(s.url, 'alice'));
		await relayWorks(again, b, 'alice', 'bob');
	});

	it('a socket that keeps sending garbage is closed after a few ERRORs', async () => {
		const s = await server();
		const { a, b } = await pair(s.url);
		for (let i = 0; i < 30; i++) a.ws.send('garbage');
		await a.waitClosed();
		expect(a.messages.filter((m) => m.type === 'ERROR').length).toBeGreaterThan(5);
		b.send({ type: 'HEARTBEAT' });
		expect(b.closed).toBeNull();
	});

	it('registration parameters are checked: missing, bad ID, bad token', async () => {
		const s = await server();
		const cases = [
			[`${s.url}/peerjs/peerjs?key=peerjs&id=x`, 'No id, token, or key supplied to websocket server'],
			[`${s.url}/peerjs/peerjs?key=peerjs&id=${encodeURIComponent('<script>')}&token=t`, 'Invalid ID'],
			[`${s.url}/peerjs/peerjs?key=peerjs&id=${'a'.repeat(65)}&token=t`, 'Invalid ID'],
			[`${s.url}/peerjs/peerjs?key=peerjs&id=ok&token=${'t'.repeat(200)}`, 'Invalid token']
		];
		for (const [url, msg] of cases) {
			const ws = new WebSocket(url.replace('http', 'ws'));
			const messages: string[] = [];
			ws.on('message', (d) => messages.push(d.toString()));
			await new Promise((resolve) => ws.on('close', resolve));
			expect(messages.map((m) => JSON.parse(m))).toEqual([{ type: 'ERROR', payload: { msg } }]);
		}
	});

	it('an upgrade anywhere but /peerjs/peerjs is refused', async () => {
		const s = await server();
		const ws = new WebSocket(`${s.url.replace('http', 'ws')}/elsewhere?key=peerjs&id=a&token=b`);
		const status = await new Promise((resolve) => ws.on('unexpected-response', (_q, res) => resolve(res.statusCode)));
		ws.on('error', () => {});
		expect(status).toBe(404);
	});
});

describe('IDs have owners', () => {
	it('the owner taking its ID back while the old socket lingers gets OPEN at once; the old socket goes', async () => {
		const s = await server();
		const old = track(await register(s.url, 'alice', 'secret'));
		const b = track(await register(s.url, 'bob'));
		const fresh = track(await connect(s.url, 'alice', 'secret'));
		await fresh.next('OPEN', 1000);
		await old.waitClosed();
		await relayWorks(b, fresh, 'bob', 'alice');
	});

	it('after a restart a stranger cannot take a known ID, and its owner can', async () => {
		const dataDir = tmpDir();
		let s = await serve({ buildDir: '', app: false, port: 0, host: '127.0.0.1', dataDir });
		const port = s.port;
		const owner = await register(s.url, 'alice', 'secret');
		owner.close();
		await s.close();
		s = await serve({ buildDir: '', app: false, port, host: '127.0.0.1', dataDir });
		open.push(s);
		const stranger = track(await connect(s.url, 'alice', 'guess'));
		expect((await stranger.next(() => true)).type).toBe('ID-TAKEN');
		await stranger.waitClosed();
		track(await register(s.url, 'alice', 'secret'));
		// Tokens are not stored, only salted hashes.
		const file = fs.readFileSync(path.join(dataDir, 'ids.jsonl'), 'utf8');
		expect(file).toContain('"alice"');
		expect(file).not.toContain('secret');
	});

	it('a fresh ID is words and digits a person can read out: ≤ 24 chars of a-z, 0-9 and dashes, a stock client registers with one', async () => {
		const s = await server({ rateLimit: false }); // 200 requests from one address in a moment
		const ids = new Set<string>();
		for (let i = 0; i < 200; i++) {
			const id = await (await fetch(`${s.url}/peerjs/peerjs/id`)).text();
			expect(id).toMatch(/^[a-z]+-[a-z]+-\d{4}$/);
			expect(id.length).toBeLessThanOrEqual(24);
			ids.add(id);
		}
		expect(ids.size).toBeGreaterThan(195); // a few clashes in 200 would mean too little entropy
		// Registered with one, a stock client works as with a UUID.
		const [first, second] = [...ids];
		const a = track(await register(s.url, first, 'ta'));
		const b = track(await register(s.url, second, 'tb'));
		await relayWorks(a, b, first, second);
	});

	it('a second server on the same data folder is refused', async () => {
		const dataDir = tmpDir();
		await server({ dataDir });
		await expect(serve({ buildDir: '', app: false, port: 0, dataDir })).rejects.toThrow(/in use/);
	});
});

describe('limits', () => {
	it('the peer cap refuses the next registration with the stock message', async () => {
		const s = await server({ maxPeers: 3 });
		for (const id of ['p1', 'p2', 'p3']) track(await register(s.url, id));
		const fourth = track(await connect(s.url, 'p4', 't'));
		expect(await fourth.next(() => true)).toEqual({ type: 'ERROR', payload: { msg: 'Server has reached its concurrent user limit' } });
	});

	it('one address opening sockets in a loop is refused with 429; another address is not', async () => {
		const s = await server();
		let refused = 0;
		for (let i = 0; i < 80; i++) {
			try {
				const p = await connect(s.url, `flood${i}`, 't');
				p.close();
			} catch (e) {
				expect(String(e)).toContain('429');
				refused++;
			}
		}
		expect(refused).toBeGreaterThanOrEqual(15);
		track(await register(s.url, 'neighbour', 't', { localAddress: '127.0.0.2' }));
	});

	it('RATE_LIMIT off (load tests): the same loop is never refused', async () => {
		const s = await server({ rateLimit: false });
		for (let i = 0; i < 80; i++) (await connect(s.url, `flood${i}`, 't')).close();
	});

	it('a socket flooding messages loses its socket; its neighbours carry on', async () => {
		const s = await server();
		const { a, b } = await pair(s.url);
		const c = track(await register(s.url, 'carol'));
		for (let i = 0; i < 1000; i++) a.send(candidate('bob'));
		const closed = await a.waitClosed();
		expect(closed.code).toBe(1005);
		expect(a.messages.at(-1)).toEqual({ type: 'ERROR', payload: { msg: 'Too many messages: slow down' } });
		// bob got at most the first burst, and still works with carol.
		expect(b.messages.length).toBeLessThanOrEqual(320); // the burst, plus what refilled meanwhile
		b.messages.length = 0;
		await relayWorks(c, b, 'carol', 'bob');
	});

	it('TRUST_PROXY: limits follow X-Forwarded-For; without it the header changes nothing', async () => {
		const behind = await server({ trustProxy: true });
		for (let i = 0; i < 80; i++) {
			(await connect(behind.url, `p${i}`, 't', { headers: { 'X-Forwarded-For': `203.0.113.${i}` } })).close();
		}
		const direct = await server();
		let refused = 0;
		for (let i = 0; i < 80; i++) {
			await connect(direct.url, `p${i}`, 't', { headers: { 'X-Forwarded-For': `203.0.113.${i}` } }).then(
				(p) => p.close(),
				() => refused++
			);
		}
		expect(refused).toBeGreaterThan(0);
	});

	it('messages to a peer that never arrives wait at most ~1.5 s, then EXPIRE; a full queue answers EXPIRE at once', async () => {
		const s = await server();
		const a = track(await register(s.url, 'alice'));
		const started = Date.now();
		a.send(offer('ghost'));
		await a.next('EXPIRE', 3000);
		expect(Date.now() - started).toBeLessThan(2500);
		for (let i = 0; i < 70; i++) a.send(candidate('ghost2'));
		const early = await a.next('EXPIRE', 1000);
		expect(early.src).toBe('ghost2');
	});

	it('messages to a peer still connecting are delivered when it opens', async () => {
		const s = await server();
		const a = track(await register(s.url, 'alice'));
		a.send(offer('late'));
		await new Promise((r) => setTimeout(r, 300));
		const late = track(await connect(s.url, 'late', 't'));
		await late.next('OPEN');
		expect((await late.next('OFFER')).src).toBe('alice');
	});
});

describe('origins', () => {
	it('/peerjs answers the app’s own origin and ALLOWED_ORIGINS, and refuses others (WebSocket and HTTP)', async () => {
		const s = await server({ allowedOrigins: ['https://friend.example'] });
		track(await register(s.url, 'same', 't', { origin: s.url }));
		track(await register(s.url, 'friend', 't', { origin: 'https://friend.example' }));
		await expect(connect(s.url, 'evil', 't', { origin: 'https://evil.example' })).rejects.toThrow('403');
		const evil = await fetch(`${s.url}/peerjs/peerjs/id`, { headers: { Origin: 'https://evil.example' } });
		expect(evil.status).toBe(403);
		const friend = await fetch(`${s.url}/peerjs/peerjs/id`, { headers: { Origin: 'https://friend.example' } });
		expect(friend.status).toBe(200);
		expect(friend.headers.get('access-control-allow-origin')).toBe('https://friend.example');
	});
});
