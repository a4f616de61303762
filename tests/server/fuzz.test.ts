/**
 * Bounded fuzzing of the real `npm start` process: thousands of random and crafted frames from
 * strangers' sockets, while two bystanders stay registered. Afterwards the process is alive, the
 * bystanders never noticed, nothing invalid was relayed, and a fresh pair can still set up a call.
 * The seed is printed on failure: FUZZ_SEED=<n> replays it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parseClientMessage } from '../../src/server/signaling/protocol.js';
import { answer, candidate, connect, dataOffer, offer, register, startChild, type ChildServer, type PeerSocket } from './peer-client';

const FRAMES = Number(process.env.FUZZ_FRAMES ?? 6000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

/** mulberry32: small, seedable. */
function rng(seed: number) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

let server: ChildServer;
beforeAll(async () => {
	server = await startChild({ RATE_LIMIT: '0', DATA_DIR: `.data-fuzz-${process.pid}` });
});
afterAll(async () => {
	await server?.stop();
	const fs = await import('node:fs');
	fs.rmSync(`.data-fuzz-${process.pid}`, { recursive: true, force: true });
});

it(`survives ${FRAMES} random and crafted frames; bystanders never notice`, async () => {
	const random = rng(SEED);
	const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
	const int = (n: number) => Math.floor(random() * n);
	const alice = await register(server.url, 'alice', 'ta');
	const bob = await register(server.url, 'bob', 'tb');
	const ids = ['alice', 'bob', 'ghost', 'fuzz0', 'fuzz1', 'fuzz2', '', '../x', 'a'.repeat(70), '__proto__', 'constructor'];
	const nasty = [null, true, 0, -1, 1e308, NaN, '', 'x'.repeat(5000), [], {}, { __proto__: { polluted: 1 } }, '__proto__', 'constructor', 'toString', ['OFFER'], { type: 'offer' }];

	const randomValue = (depth = 0): unknown => {
		switch (int(depth > 3 ? 4 : 7)) {
			case 0: return pick(nasty);
			case 1: return int(1e6) - 5e5;
			case 2: return Array.from({ length: int(20) }, () => String.fromCharCode(int(0x3000))).join('');
			case 3: return random() < 0.5;
			case 4: return Array.from({ length: int(5) }, () => randomValue(depth + 1));
			case 5: return Object.fromEntries(Array.from({ length: int(5) }, () => [pick(['type', 'dst', 'payload', 'sdp', 'connectionId', 'candidate', '__proto__', 'x']), randomValue(depth + 1)]));
			default: return null;
		}
	};
	const mutate = (frame: any): any => {
		const copy = JSON.parse(JSON.stringify(frame));
		const targets = [copy, copy.payload ?? copy, copy.payload?.sdp ?? copy, copy.payload?.candidate ?? copy];
		for (let n = 1 + int(3); n > 0; n--) {
			const target = pick(targets);
			const keys = Object.keys(target);
			const key = random() < 0.7 && keys.length ? pick(keys) : pick(['type', 'dst', 'serialization', 'metadata', '__proto__', 'label']);
			if (random() < 0.3) delete target[key];
			else target[key] = randomValue();
		}
		if (random() < 0.5) copy.dst = pick(ids);
		return copy;
	};
	const crafted = () => pick([offer, dataOffer, answer, candidate, (d: string) => ({ type: 'LEAVE', dst: d }), () => ({ type: 'HEARTBEAT' })])(pick(ids));
	const frame = (): { data: string | Buffer; binary: boolean } => {
		const r = random();
		if (r < 0.35) return { data: JSON.stringify(mutate(crafted())), binary: false };
		if (r < 0.55) return { data: JSON.stringify(randomValue()), binary: false };
		if (r < 0.65) return { data: JSON.stringify(crafted()), binary: false };
		if (r < 0.75) return { data: Buffer.from(Array.from({ length: int(200) }, () => int(256))), binary: true };
		if (r < 0.8) return { data: Buffer.from(Array.from({ length: 1 + int(200) }, () => int(256))), binary: false }; // often invalid UTF-8
		if (r < 0.82) return { data: 'x'.repeat(60_000 + int(20_000)), binary: false }; // near and over the frame limit
		if (r < 0.9) return { data: '{"type":"OFFER","dst":"bob","payload":' + '['.repeat(int(5000)), binary: false };
		return { data: Array.from({ length: int(100) }, () => String.fromCharCode(int(128))).join(''), binary: false };
	};

	let fuzzers: PeerSocket[] = [];
	let next = 0;
	let sent = 0;
	const fresh = async (i: number) => (fuzzers[i] = await connect(server.url, `fuzz${i}-${next++}`, 't'));
	for (let i = 0; i < 4; i++) await fresh(i);
	while (sent < FRAMES) {
		for (let i = 0; i < fuzzers.length && sent < FRAMES; i++) {
			if (fuzzers[i].closed || fuzzers[i].ws.readyState !== WebSocket.OPEN) {
				await fresh(i);
				continue;
			}
			const f = frame();
			fuzzers[i].ws.send(f.data, { binary: f.binary });
			sent++;
		}
		if (sent % 500 === 0) await new Promise((r) => setTimeout(r, 5)); // let the server answer
	}
	await new Promise((r) => setTimeout(r, 500));

	const context = `seed ${SEED}\n${server.output().slice(-2000)}`;
	expect(server.child.exitCode, context).toBeNull();
	expect(alice.closed, context).toBeNull();
	expect(bob.closed, context).toBeNull();
	// Whatever reached a bystander was a valid PeerJS message, rebuilt by the server.
	for (const m of [...alice.messages, ...bob.messages]) {
		if (m.type === 'EXPIRE' || m.type === 'LEAVE') continue;
		const { src, ...rest } = m;
		expect(parseClientMessage(JSON.stringify(rest)).ok, `${context}\n${JSON.stringify(m).slice(0, 300)}`).toBe(true);
		expect(src).toMatch(/^fuzz/);
	}
	alice.messages.length = bob.messages.length = 0;

	// A fresh pair registers and sets up a call; the bystanders still relay.
	const carol = await register(server.url, 'carol', 'tc');
	const dave = await register(server.url, 'dave', 'td');
	carol.send(offer('dave'));
	expect((await dave.next('OFFER')).src).toBe('carol');
	dave.send(answer('carol'));
	expect((await carol.next('ANSWER')).src).toBe('dave');
	alice.send(offer('bob'));
	expect((await bob.next('OFFER')).src).toBe('alice');
	for (const p of [alice, bob, carol, dave, ...fuzzers]) p.close();
	fuzzers = [];
});
