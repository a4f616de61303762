/**
 * Several signaling nodes on one real redis-server (REDIS_URL): a message reaches its peer
 * whichever node holds it, IDs keep their owners across nodes, a dead node loses only its own
 * sockets, and Redis trouble is visible and bounded.
 */
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { serve } from '../../src/server/app.js';
import { PRESENCE_TTL_MS } from '../../src/server/signaling/cluster.js';
import { answer, candidate, connect, dataOffer, offer, register, root, startChild, type PeerSocket } from './peer-client';
import { freePort, haveRedis, startRedis, type TestRedis } from './redis';

type Served = Awaited<ReturnType<typeof serve>>;
const open: { close(): unknown }[] = [];
afterEach(async () => {
	for (const thing of open.splice(0).reverse()) await thing.close();
});

beforeAll(() => {
	if (!haveRedis()) throw new Error('redis-server is missing: apt-get install -y redis-server (.ci/run does)');
});

async function redis(): Promise<TestRedis> {
	const r = await startRedis();
	open.push({ close: () => r.stop() });
	return r;
}

/** A client of the test's own, to look at what the nodes wrote. */
function inspector(r: TestRedis): Redis {
	const client = new Redis(r.url, { lazyConnect: false, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
	client.on('error', () => {});
	open.push({ close: () => client.disconnect() });
	return client;
}

async function node(r: TestRedis, options: Partial<Parameters<typeof serve>[0]> = {}): Promise<Served & { logs: string[] }> {
	const logs: string[] = [];
	const s = await serve({
		buildDir: path.join(root, 'build'),
		app: false,
		port: 0,
		host: '127.0.0.1',
		rateLimit: false,
		redisUrl: r.url,
		log: (text) => logs.push(text),
		...options
	});
	open.push(s);
	return Object.assign(s, { logs });
}

function track<T extends PeerSocket>(p: T): T {
	open.push(p);
	return p;
}

async function health(url: string) {
	const res = await fetch(`${url}/healthz`);
	return { status: res.status, body: (await res.json()) as { node: string; redis: string; peers: number } };
}

async function until(check: () => Promise<boolean> | boolean, timeout: number, what: string) {
	const deadline = Date.now() + timeout;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

describe('one deployment, two nodes, one Redis', () => {
	it('OFFER, ANSWER, CANDIDATE and LEAVE reach a peer held by the other node, rebuilt as on one node', async () => {
		const r = await redis();
		const n1 = await node(r);
		const n2 = await node(r);
		const alice = track(await register(n1.url, 'alice'));
		const bob = track(await register(n2.url, 'bob'));

		alice.send({ ...offer('bob'), extra: 'dropped' });
		const got = await bob.next('OFFER');
		expect(got).toEqual({ type: 'OFFER', src: 'alice', dst: 'bob', payload: offer('bob').payload });
		alice.send(dataOffer('bob'));
		expect((await bob.next('OFFER')).payload.serialization).toBe('json');
		alice.send(candidate('bob'));
		expect((await bob.next('CANDIDATE')).src).toBe('alice');
		bob.send(answer('alice'));
		expect((await alice.next('ANSWER')).src).toBe('bob');
		bob.send({ type: 'LEAVE', dst: 'alice' });
		expect(await alice.next('LEAVE')).toEqual({ type: 'LEAVE', src: 'bob', dst: 'alice' });

		// A burst keeps its order (candidates after their offer).
		for (let i = 0; i < 20; i++) alice.send(candidate('bob'));
		alice.send(offer('bob', { connectionId: 'mc_last' }));
		for (let i = 0; i < 20; i++) await bob.next('CANDIDATE');
		expect((await bob.next('OFFER')).payload.connectionId).toBe('mc_last');

		expect((await health(n1.url)).body).toMatchObject({ redis: 'ready', peers: 1 });
		expect(n1.stats()?.toNodes).toBeGreaterThan(0);
		expect(n2.stats()?.fromNodes).toBeGreaterThan(0);
	});

	it('a message to a peer still registering on the other node is delivered when it opens', async () => {
		const r = await redis();
		const n1 = await node(r);
		const n2 = await node(r);
		const alice = track(await register(n1.url, 'alice'));
		alice.send(offer('late'));
		await new Promise((res) => setTimeout(res, 300));
		const late = track(await register(n2.url, 'late'));
		expect((await late.next('OFFER', 2000)).src).toBe('alice');
	});

	it('an ID held on one node: a stranger on the other gets ID-TAKEN; its owner there gets OPEN and the old socket goes', async () => {
		const r = await redis();
		const n1 = await node(r);
		const n2 = await node(r);
		const old = track(await register(n1.url, 'alice', 'secret'));
		const carol = track(await register(n1.url, 'carol'));

		const stranger = track(await connect(n2.url, 'alice', 'guess'));
		expect(await stranger.next(() => true)).toEqual({ type: 'ID-TAKEN', payload: { msg: 'ID is taken' } });
		await stranger.waitClosed();

		const owner = track(await connect(n2.url, 'alice', 'secret'));
		await owner.next('OPEN', 2000);
		expect((await old.waitClosed()).reason).toMatch(/Replaced/);
		// Messages now reach the new socket, from either node.
		carol.send(offer('alice'));
		expect((await owner.next('OFFER')).src).toBe('carol');
		await until(async () => (await health(n1.url)).body.peers === 1, 2000, 'node 1 to let go of alice');
		expect((await health(n2.url)).body.peers).toBe(1);

		// And back to the first node: the second lets go.
		const back = track(await connect(n1.url, 'alice', 'secret'));
		await back.next('OPEN', 2000);
		await owner.waitClosed();
		carol.send(offer('alice'));
		expect((await back.next('OFFER')).src).toBe('carol');
	});

	it('tokens are kept as salted hashes only; a fresh ID is not one reserved on another node', async () => {
		const r = await redis();
		const n1 = await node(r);
		track(await register(n1.url, 'alice', 'secret-token'));
		const db = inspector(r);
		const keys = await db.keys('*');
		expect(keys).toEqual(expect.arrayContaining(['camcall:id:alice', 'camcall:on:alice', 'camcall:salt']));
		for (const k of keys) {
			const type = await db.type(k);
			const values = type === 'hash' ? Object.values(await db.hgetall(k)) : type === 'string' ? [await db.get(k)] : [];
			for (const v of values) expect(v).not.toContain('secret-token');
		}
		const ttl = await db.pttl('camcall:on:alice');
		expect(ttl).toBeGreaterThan(0);
		expect(ttl).toBeLessThanOrEqual(PRESENCE_TTL_MS);
		expect(await db.pttl('camcall:id:alice')).toBeGreaterThan(29 * 24 * 3600 * 1000);
		const res = await fetch(`${n1.url}/peerjs/peerjs/id`);
		expect(await res.text()).toMatch(/^[a-z]+-[a-z]+-\d{4}$/);
	});

	it('a message to an unknown ID fails with EXPIRE within 2 s, as on one node', async () => {
		const r = await redis();
		const n1 = await node(r);
		await node(r);
		const alice = track(await register(n1.url, 'alice'));
		const started = Date.now();
		alice.send(offer('ghost'));
		await alice.next('EXPIRE', 3000);
		expect(Date.now() - started).toBeLessThan(2500);
	});

	it('what arrives through Redis is checked like anything from the network: garbage costs nobody anything', async () => {
		const r = await redis();
		const n1 = await node(r);
		const n2 = await node(r);
		const alice = track(await register(n1.url, 'alice'));
		const bob = track(await register(n2.url, 'bob'));
		const channel = `camcall:node:${(await health(n2.url)).body.node}`;
		const db = inspector(r);
		const frame = (extra: Record<string, unknown>) => JSON.stringify(dataOffer('bob', extra));
		const hostile = [
			'not json',
			'null',
			'[]',
			JSON.stringify({ t: 'relay' }),
			JSON.stringify({ t: 'relay', dst: 'bob', items: 'x' }),
			JSON.stringify({ t: 'relay', dst: 'bob', items: [{ src: '../evil', data: frame({}) }] }),
			JSON.stringify({ t: 'relay', dst: 'bob', items: [{ src: 'alice', data: frame({ serialization: 'constructor' }) }] }),
			JSON.stringify({ t: 'relay', dst: 'bob', items: [{ src: 'alice', data: JSON.stringify(offer('someone-else')) }] }),
			JSON.stringify({ t: 'relay', dst: 'bob', items: [{ src: 'alice', data: '{"type":"HEARTBEAT"}' }] }),
			JSON.stringify({ t: 'relay', dst: 'bob', items: Array(100).fill({ src: 'alice', data: frame({}) }) }),
			JSON.stringify({ t: 'notice', dst: 'bob', type: 'OPEN', src: 'alice' }),
			JSON.stringify({ t: 'kick', id: 'bob', seq: 'x' }),
			JSON.stringify({ t: 'relay', dst: 'bob', items: [{ src: 'alice', data: 'x'.repeat(2 * 1024 * 1024) }] }),
			'{"t":"relay","dst":"bob","items":[' + '{"src":"alice","data":"' + 'y'.repeat(1000) + '"},'.repeat(1200) + '{}]}'
		];
		for (const m of hostile) await db.publish(channel, m);
		// A well-formed one still passes (so the garbage did not stop the listener).
		await db.publish(channel, JSON.stringify({ t: 'relay', dst: 'bob', items: [{ src: 'alice', data: JSON.stringify(offer('bob')), age: 0 }] }));
		expect((await bob.next('OFFER')).src).toBe('alice');
		expect(bob.messages).toEqual([]);
		expect(n2.stats()?.badFromNodes).toBeGreaterThanOrEqual(hostile.length);
		expect(bob.closed).toBeNull();
		alice.send(offer('bob'));
		expect((await bob.next('OFFER')).src).toBe('alice');
	});
});

describe('a node that dies loses only its own sockets', () => {
	it('kill -9 of a node: its peers’ presence expires within the heartbeat timeout, their reservations stay, their owners come back elsewhere', async () => {
		const r = await redis();
		const dying = await startChild({ REDIS_URL: r.url, RATE_LIMIT: '0' });
		open.push({ close: () => dying.stop() });
		const n2 = await node(r);
		const alice = track(await register(dying.url, 'alice', 'secret'));
		// Nobody writes to erin: her presence can only go by expiring.
		track(await register(dying.url, 'erin', 'erin-secret'));
		const bob = track(await register(n2.url, 'bob'));
		alice.send(offer('bob'));
		expect((await bob.next('OFFER')).src).toBe('alice');
		const db = inspector(r);
		expect(await db.exists('camcall:on:alice')).toBe(1);

		dying.child.kill('SIGKILL');
		await dying.exited;
		const killedAt = Date.now();
		await alice.waitClosed();
		// A message for a peer of the dead node fails within the usual 2 s (nobody listens on its
		// channel), even before its presence has expired.
		bob.send(offer('alice'));
		await bob.next('EXPIRE', 3000);
		// Bob and his node carry on.
		const carol = track(await register(n2.url, 'carol'));
		carol.send(offer('bob'));
		expect((await bob.next('OFFER')).src).toBe('carol');

		// Alice's presence went when a message found her node gone; erin's expires on its own.
		expect(await db.exists('camcall:on:alice')).toBe(0);
		expect(await db.exists('camcall:on:erin')).toBe(1);
		await until(async () => (await db.exists('camcall:on:erin')) === 0, PRESENCE_TTL_MS + 3000, 'erin’s presence to expire');
		expect(Date.now() - killedAt).toBeLessThanOrEqual(PRESENCE_TTL_MS + 3000);
		expect(await db.exists('camcall:id:alice', 'camcall:id:erin')).toBe(2);
		const thief = track(await connect(n2.url, 'erin', 'guess'));
		expect((await thief.next(() => true)).type).toBe('ID-TAKEN');
		const stranger = track(await connect(n2.url, 'alice', 'guess'));
		expect((await stranger.next(() => true)).type).toBe('ID-TAKEN');
		const back = track(await register(n2.url, 'alice', 'secret'));
		bob.send(offer('alice'));
		expect((await back.next('OFFER')).src).toBe('bob');
	});

	it('a node stopped on purpose (SIGTERM, a deploy) takes its peers’ presence out at once; reservations stay', async () => {
		const r = await redis();
		const leaving = await startChild({ REDIS_URL: r.url, RATE_LIMIT: '0' });
		open.push({ close: () => leaving.stop() });
		track(await register(leaving.url, 'alice', 'secret'));
		const db = inspector(r);
		expect(await db.exists('camcall:on:alice')).toBe(1);
		const stoppedAt = Date.now();
		await leaving.stop();
		expect(await leaving.exited).toBe(0);
		expect(await db.exists('camcall:on:alice')).toBe(0);
		expect(Date.now() - stoppedAt).toBeLessThan(3000);
		expect(await db.exists('camcall:id:alice')).toBe(1);
	});
});

describe('Redis trouble is visible and bounded', () => {
	it('Redis down at start: npm start exits 1 and says so', async () => {
		const port = await freePort();
		await expect(startChild({ REDIS_URL: `redis://:hunter2@127.0.0.1:${port}` })).rejects.toThrow(
			new RegExp(`exited \\(1\\)[\\s\\S]*Cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}`)
		);
	});

	it('one node: /healthz says redis off', async () => {
		const s = await serve({ buildDir: '', app: false, port: 0, host: '127.0.0.1' });
		open.push(s);
		track(await register(s.url, 'alice'));
		const h = await health(s.url);
		expect(h.status).toBe(200);
		expect(h.body).toEqual({ node: expect.any(String), redis: 'off', peers: 1 });
	});

	it('Redis lost while running: local peers keep working, new registrations are refused, /healthz and the log say so; all back after Redis returns', async () => {
		const r = await redis();
		const n1 = await node(r, { cluster: { refreshMs: 500 } });
		const n2 = await node(r, { cluster: { refreshMs: 500 } });
		const alice = track(await register(n1.url, 'alice', 'secret'));
		const bob = track(await register(n1.url, 'bob'));
		const dave = track(await register(n2.url, 'dave'));

		await r.kill();
		await until(async () => (await health(n1.url)).status === 503, 3000, '/healthz to report Redis lost');
		expect((await health(n1.url)).body).toMatchObject({ redis: 'reconnecting', peers: 2 });
		expect(n1.logs.join('\n')).toMatch(/Redis lost .*refusing new registrations; reconnecting/);

		// Peers on this node still reach each other.
		alice.send(offer('bob'));
		expect((await bob.next('OFFER')).src).toBe('alice');
		bob.send(answer('alice'));
		expect((await alice.next('ANSWER')).src).toBe('bob');
		// A peer on another node can't be reached now: the sender hears so, as for an unknown ID.
		alice.send(offer('dave'));
		await alice.next('EXPIRE', 3000);
		// A new registration can't be recorded: refused, with a message.
		const carol = track(await connect(n1.url, 'carol', 't'));
		expect(await carol.next(() => true)).toEqual({ type: 'ERROR', payload: { msg: 'Server could not record this ID; try again' } });
		await carol.waitClosed();

		// Redis comes back empty (nothing was saved): the nodes reconnect and re-record their peers.
		await r.restart();
		await until(async () => (await health(n1.url)).status === 200 && (await health(n2.url)).status === 200, 15_000, 'both nodes to reconnect');
		expect(n1.logs.join('\n')).toMatch(/Redis back after/);
		const db = inspector(r);
		await until(async () => (await db.exists('camcall:id:alice', 'camcall:on:dave')) === 2, 3000, 'the peers to be re-recorded');
		const stranger = track(await connect(n2.url, 'alice', 'guess'));
		expect((await stranger.next(() => true)).type).toBe('ID-TAKEN');
		track(await register(n1.url, 'carol', 't'));
		alice.send(offer('dave'));
		expect((await dave.next('OFFER')).src).toBe('alice');
	});
});
