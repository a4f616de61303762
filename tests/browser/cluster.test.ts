/**
 * Two app nodes (`npm start`'s entry point, as separate processes) on two ports sharing one real
 * redis-server, a page on each: a call from one to the other connects with media. Then the first
 * node is killed mid-call: the media keeps flowing (it is peer to peer), and the peer it held
 * comes back with the same ID on the other node when its page reloads from it.
 *
 * Page A is served through a small TCP load balancer of the test's own (one origin in front of
 * both nodes, as in production: the saved ID and token live in the origin's storage), which
 * sends new connections to node 1 until it dies, then to node 2. No sticky sessions.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser } from 'playwright-core';
import { decodesFrames, launch, openAppPage, peerIdOf, placeCall, stateOf, waitForState } from './harness';
import { startChild, type ChildServer } from '../server/peer-client';
import { haveRedis, startRedis, type TestRedis } from '../server/redis';

interface Balancer {
	url: string;
	/** Where new connections go from now on. */
	target: number;
	close(): Promise<void>;
}

async function balancer(target: number): Promise<Balancer> {
	const sockets = new Set<net.Socket>();
	const lb = { target } as Balancer;
	const server = net.createServer((client) => {
		const upstream = net.connect(lb.target, '127.0.0.1');
		for (const [a, b] of [
			[client, upstream],
			[upstream, client]
		]) {
			sockets.add(a);
			a.on('error', () => b.destroy());
			a.on('close', () => {
				sockets.delete(a);
				b.destroy();
			});
			a.pipe(b);
		}
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	lb.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
	lb.close = () =>
		new Promise<void>((resolve) => {
			for (const s of sockets) s.destroy();
			server.close(() => resolve());
		});
	return lb;
}

function portOf(url: string) {
	return Number(new URL(url).port);
}

async function health(url: string) {
	return (await (await fetch(`${url}/healthz`)).json()) as { node: string; redis: string; peers: number };
}

const env = {} as { redis: TestRedis; node1: ChildServer; node2: ChildServer; lb: Balancer; browser: Browser };

beforeAll(async () => {
	if (!haveRedis()) throw new Error('redis-server is missing: apt-get install -y redis-server (.ci/run does)');
	env.redis = await startRedis();
	[env.node1, env.node2] = await Promise.all([startChild({ REDIS_URL: env.redis.url }), startChild({ REDIS_URL: env.redis.url })]);
	env.lb = await balancer(portOf(env.node1.url));
	env.browser = await launch({ deviceCount: 3 });
});

afterAll(async () => {
	await env.browser?.close();
	await env.lb?.close();
	await env.node1?.stop();
	await env.node2?.stop();
	await env.redis?.stop();
});

describe('two nodes, one Redis', () => {
	test('a call between pages on different nodes connects with media; node 1 killed mid-call: media flows on, and its peer re-registers on node 2 with the same ID', async () => {
		const a = await openAppPage(env.browser, env.lb.url);
		const b = await openAppPage(env.browser, env.node2.url);
		const aId = await peerIdOf(a);
		expect(aId).not.toBe('');
		const [h1, h2] = await Promise.all([health(env.node1.url), health(env.node2.url)]);
		expect(h1).toMatchObject({ redis: 'ready', peers: 1 });
		expect(h2).toMatchObject({ redis: 'ready', peers: 1 });
		expect(h1.node).not.toBe(h2.node);

		// Dialled from node 1's page to node 2's: OFFER, ANSWER and candidates cross through Redis.
		await placeCall(a, b);
		expect(await decodesFrames(a, 'remote-video')).toBe(true);
		expect(await decodesFrames(b, 'remote-video')).toBe(true);

		// Node 1 dies; the load balancer sends new connections to node 2 from now on.
		env.node1.child.kill('SIGKILL');
		await env.node1.exited;
		env.lb.target = portOf(env.node2.url);
		await waitForState(a, 'signaling', ['disconnected', 'reconnecting', 'open'], 10_000);
		// The media path is between the two browsers: it never touched node 1.
		await a.waitForTimeout(3000);
		expect(await stateOf(a, 'call')).toBe('connected');
		expect(await stateOf(b, 'call')).toBe('connected');
		expect(await decodesFrames(a, 'remote-video')).toBe(true);
		expect(await decodesFrames(b, 'remote-video')).toBe(true);

		// The page reloads from the balancer, now node 2: same saved ID and token, so the
		// reservation recorded by node 1 in Redis gives it back.
		await a.reload();
		await waitForState(a, 'capture', 'live');
		await waitForState(a, 'signaling', 'open');
		expect(await peerIdOf(a)).toBe(aId);
		await expect.poll(async () => (await health(env.node2.url)).peers).toBe(2);

		// Reachable there: B's call to A rings.
		await waitForState(b, 'call', ['ended', 'failed', 'idle'], 30_000);
		await placeCall(b, a);
		expect(await decodesFrames(a, 'remote-video')).toBe(true);
		await a.context().close();
		await b.context().close();
	});
});
