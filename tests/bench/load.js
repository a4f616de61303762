// `npm run load`: how many peers one signaling node holds on this machine, and (`--nodes N`)
// what relaying between nodes through Redis costs.
//
// Starts the real server (`npm start`'s entry point, RATE_LIMIT=0, its own DATA_DIR) as a child
// process, then opens peers in steps from worker processes (each a few thousand WebSocket
// clients speaking the PeerJS protocol: registration with id and token, a HEARTBEAT every 5 s
// as PeerJS sends it), and at each step relays OFFER → ANSWER between random pairs at a set
// rate (realistic 4 KB SDPs). It prints, per step: peers held, the server's RSS per peer,
// relay latency p50/p99 (send → receipt at the far socket, one clock: all on this machine) and
// the server's CPU. The pass line is p99 ≤ 50 ms at 200 relays/s.
//
// `npm run load -- --nodes 2` (or LOAD_NODES=2) starts a redis-server of its own on a free
// loopback port and N nodes sharing it (REDIS_URL), spreads the peers over them (peer k on node
// k mod N) and prints relay latency for pairs on the same node next to pairs on different nodes
// (OFFER/ANSWER carried node → Redis → node); RSS and CPU are the nodes' sums, Redis's CPU apart.
//
// Env: LOAD_STEPS (comma list of peer counts), LOAD_RATE (relays/s, default 200),
// LOAD_SECONDS (measuring time per step, default 20), LOAD_PER_WORKER (default 8000),
// LOAD_NODES (default 1), REDIS_SERVER_PATH (default /usr/bin/redis-server).
import { fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const self = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(self), '../..');

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
const now = () => performance.timeOrigin + performance.now();

if (process.env.LOAD_WORKER) await worker();
else await main();

// ---------------------------------------------------------------------------------------------
// Worker: holds a share of the peers.

async function worker() {
	/** @type {string[]} */
	const urls = JSON.parse(/** @type {string} */ (process.env.LOAD_URLS));
	const nodeOf = (/** @type {string} */ id) => Number(id.slice('load-'.length)) % urls.length;
	const sdp = 'v=0\r\n' + 'a=x-filler:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n'.repeat(52);
	/** @type {Map<string, WebSocket>} */
	const peers = new Map();
	/** @type {number[]} pairs on one node */
	let latencies = [];
	/** @type {number[]} pairs on different nodes */
	let crossLatencies = [];
	let failures = 0;
	/** @type {NodeJS.Timeout | null} */
	let relayTimer = null;
	let totalPeers = 0;
	const send = (/** @type {any} */ m) => process.send?.(m);

	/** @param {string} id @param {string} localAddress */
	function open(id, localAddress) {
		return new Promise((resolve) => {
			const url = urls[nodeOf(id)];
			const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/peerjs/peerjs?key=peerjs&id=${id}&token=tok-${id}&version=1.5.5`, {
				localAddress,
				perMessageDeflate: false
			});
			let done = false;
			const finish = (/** @type {boolean} */ ok) => {
				if (done) return;
				done = true;
				if (!ok) failures++;
				resolve(ok);
			};
			ws.on('error', () => finish(false));
			ws.on('close', () => {
				peers.delete(id);
				finish(false);
			});
			ws.on('message', (data) => {
				const text = data.toString();
				if (!done) {
					if (text.includes('"OPEN"')) {
						peers.set(id, ws);
						// Heartbeats as PeerJS sends them, spread over the 5 s period.
						setTimeout(() => {
							const beat = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('{"type":"HEARTBEAT"}'), 5000);
							ws.once('close', () => clearInterval(beat));
						}, Math.random() * 5000);
						finish(true);
					} else finish(false);
					return;
				}
				const m = JSON.parse(text);
				if (m.type !== 'OFFER' && m.type !== 'ANSWER') return;
				const sent = Number(m.payload.connectionId.slice(3)) / 1000;
				(nodeOf(m.src) === nodeOf(id) ? latencies : crossLatencies).push(now() - sent);
				if (m.type === 'OFFER') {
					ws.send(JSON.stringify({ type: 'ANSWER', dst: m.src, payload: { sdp: { type: 'answer', sdp }, type: 'media', connectionId: `mc_${Math.round(now() * 1000)}` } }));
				}
			});
		});
	}

	process.on('message', async (/** @type {any} */ cmd) => {
		if (cmd.cmd === 'open') {
			const started = now();
			const ids = /** @type {string[]} */ (cmd.ids);
			for (let i = 0; i < ids.length; i += 200) {
				await Promise.all(ids.slice(i, i + 200).map((id, j) => open(id, cmd.addresses[(i + j) % cmd.addresses.length])));
			}
			send({ type: 'opened', held: peers.size, failures, ms: now() - started });
		} else if (cmd.cmd === 'relay') {
			totalPeers = cmd.totalPeers;
			if (relayTimer) clearInterval(relayTimer);
			const mine = [...peers.values()];
			// This worker's share of the rate, paced by the clock (timer ticks drift under load).
			let owed = 0;
			let last = now();
			relayTimer = setInterval(() => {
				const t = now();
				owed += (cmd.rate * (t - last)) / 1000;
				last = t;
				for (; owed >= 1; owed--) {
					const from = mine[Math.floor(Math.random() * mine.length)];
					const to = `load-${Math.floor(Math.random() * totalPeers)}`;
					if (from?.readyState !== WebSocket.OPEN) continue;
					from.send(JSON.stringify({ type: 'OFFER', dst: to, payload: { sdp: { type: 'offer', sdp }, type: 'media', connectionId: `mc_${Math.round(now() * 1000)}`, metadata: { callId: 'load' } } }));
				}
			}, 10);
		} else if (cmd.cmd === 'report') {
			send({ type: 'report', latencies, crossLatencies, held: peers.size });
			latencies = [];
			crossLatencies = [];
		} else if (cmd.cmd === 'stop') {
			if (relayTimer) clearInterval(relayTimer);
			for (const ws of peers.values()) ws.terminate();
			process.exit(0);
		}
	});
	send({ type: 'ready' });
}

// ---------------------------------------------------------------------------------------------
// Main: the server, the workers, the figures.

/** @param {number} pid */
function serverSample(pid) {
	const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
	const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
	const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
	const ticks = Number(stat[11]) + Number(stat[12]); // utime + stime
	return { rssMb: rssKb / 1024, cpuSeconds: ticks / 100, at: now() };
}

/** @param {number[]} xs @param {number} q */
function quantile(xs, q) {
	if (xs.length === 0) return NaN;
	const sorted = [...xs].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** @param {number} pid */
function fdLimit(pid) {
	const limits = fs.readFileSync(`/proc/${pid}/limits`, 'utf8');
	return Number(/Max open files\s+(\d+)/.exec(limits)?.[1] ?? 0);
}

/** @returns {Promise<number>} */
function freePort() {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const port = /** @type {net.AddressInfo} */ (server.address()).port;
			server.close(() => resolve(port));
		});
	});
}

/** A redis-server of our own, nothing kept on disk. */
async function startRedis() {
	const port = await freePort();
	const bin = process.env.REDIS_SERVER_PATH ?? '/usr/bin/redis-server';
	const redis = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
	await new Promise((resolve, reject) => {
		let out = '';
		redis.stdout?.on('data', (d) => {
			out += d;
			if (/Ready to accept connections/.test(out)) resolve(undefined);
		});
		redis.once('error', (e) => reject(new Error(`${bin}: ${e.message} (apt-get install -y redis-server)`)));
		redis.once('exit', (code) => reject(new Error(`redis-server exited ${code}: ${out}`)));
	});
	return { redis, url: `redis://127.0.0.1:${port}` };
}

/** One node: `npm start`'s entry point. @param {Record<string, string>} env */
async function startNode(env) {
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'camcall-load-'));
	const server = spawn(process.execPath, [path.join(root, 'src/server/start.js')], {
		cwd: root,
		env: { ...process.env, PORT: '0', HOST: '127.0.0.1', RATE_LIMIT: '0', DATA_DIR: dataDir, MAX_PEERS: '1000000', ...env },
		stdio: ['ignore', 'pipe', 'inherit']
	});
	const url = await new Promise((resolve, reject) => {
		let out = '';
		server.stdout?.on('data', (d) => {
			out += d;
			const m = /CamCall is running: (\S+)/.exec(out);
			if (m) resolve(m[1]);
		});
		server.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
	});
	return { server, url: /** @type {string} */ (url), pid: /** @type {number} */ (server.pid), dataDir };
}

/** @param {number[]} pids */
function sampleAll(pids) {
	const samples = pids.map(serverSample);
	return { rssMb: samples.reduce((n, x) => n + x.rssMb, 0), cpuSeconds: samples.reduce((n, x) => n + x.cpuSeconds, 0), at: now() };
}

async function main() {
	const rate = Number(process.env.LOAD_RATE ?? 200);
	const seconds = Number(process.env.LOAD_SECONDS ?? 20);
	const perWorker = Number(process.env.LOAD_PER_WORKER ?? 8000);
	const nodesArg = process.argv.indexOf('--nodes');
	const nodeCount = Number(nodesArg >= 0 ? process.argv[nodesArg + 1] : (process.env.LOAD_NODES ?? 1));
	if (!(Number.isInteger(nodeCount) && nodeCount >= 1)) throw new Error('--nodes takes a whole number ≥ 1');
	const redis = nodeCount > 1 ? await startRedis() : null;
	const nodes = await Promise.all(Array.from({ length: nodeCount }, () => startNode(redis ? { REDIS_URL: redis.url } : {})));
	const pids = nodes.map((n) => n.pid);
	const pid = pids[0];
	const url = nodes.map((n) => n.url).join(', ');
	const limit = fdLimit(pid);
	const defaultSteps = [2000, 5000, 10000, 15000, limit - 300].map((n) => n * nodeCount);
	const steps = (process.env.LOAD_STEPS?.split(',').map(Number) ?? defaultSteps).filter((n) => n > 0).sort((a, b) => a - b);
	const cpus = os.cpus();
	console.log(`Load test: ${url}, server pid${pids.length > 1 ? 's' : ''} ${pids.join(', ')}${redis ? `, ${nodeCount} nodes sharing ${redis.url}` : ''}, ${cpus.length} × ${cpus[0]?.model ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
	console.log(`Server open-file limit ${limit} (each peer is one socket). ${rate} relays/s (OFFER + ANSWER each), ${seconds} s per step.\n`);

	await new Promise((r) => setTimeout(r, 1000));
	const idle = sampleAll(pids);
	/** @type {import('node:child_process').ChildProcess[]} */
	const workers = [];
	/** @type {any[]} messages from the workers */
	const inbox = [];
	const spawnWorker = async () => {
		const w = fork(self, [], { env: { ...process.env, LOAD_WORKER: '1', LOAD_URLS: JSON.stringify(nodes.map((n) => n.url)) }, stdio: 'inherit' });
		await new Promise((resolve) => w.once('message', resolve));
		w.on('message', (m) => inbox.push(/** @type {any} */ (m)));
		workers.push(w);
	};
	const collect = async (/** @type {string} */ type, /** @type {number} */ count) => {
		while (inbox.filter((m) => m.type === type).length < count) await new Promise((r) => setTimeout(r, 20));
		const got = inbox.filter((m) => m.type === type);
		inbox.splice(0, inbox.length, ...inbox.filter((m) => m.type !== type));
		return got;
	};

	const addresses = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`);
	let opened = 0;
	/** @type {string[]} */
	const rows = [];
	const header = redis
		? '| peers held | nodes RSS | RSS per peer | same-node p50 | same-node p99 | cross-node p50 | cross-node p99 | nodes CPU (of one core) | redis CPU | registration rate | relayed messages timed | pass |'
		: '| peers held | server RSS | RSS per peer | relay p50 | relay p99 | server CPU (of one core) | registration rate | relayed messages timed | pass |';
	console.log(header);
	let best = 0;
	for (const target of steps) {
		// Open the new peers: the first worker with room takes them.
		const started = now();
		const assignments = [];
		while (opened < target) {
			const wi = Math.floor(opened / perWorker);
			while (workers.length <= wi) await spawnWorker();
			const upTo = Math.min(target, (wi + 1) * perWorker);
			const ids = Array.from({ length: upTo - opened }, (_, k) => `load-${opened + k}`);
			assignments.push({ w: workers[wi], ids });
			opened = upTo;
		}
		for (const { w, ids } of assignments) w.send({ cmd: 'open', ids, addresses });
		const openedReports = await collect('opened', assignments.length);
		const regSeconds = (now() - started) / 1000;
		const failures = openedReports.reduce((n, r) => n + r.failures, 0);
		await new Promise((r) => setTimeout(r, 2000));

		for (const w of workers) w.send({ cmd: 'relay', rate: rate / workers.length, totalPeers: target });
		await new Promise((r) => setTimeout(r, 2000)); // warm up
		for (const w of workers) w.send({ cmd: 'report' });
		await collect('report', workers.length);
		const before = sampleAll(pids);
		const redisBefore = redis ? serverSample(/** @type {number} */ (redis.redis.pid)) : null;
		await new Promise((r) => setTimeout(r, seconds * 1000));
		const after = sampleAll(pids);
		const redisAfter = redis ? serverSample(/** @type {number} */ (redis.redis.pid)) : null;
		for (const w of workers) w.send({ cmd: 'report' });
		const reports = await collect('report', workers.length);
		for (const w of workers) w.send({ cmd: 'relay', rate: 0, totalPeers: target });
		const sameNode = reports.flatMap((r) => r.latencies);
		const crossNode = reports.flatMap((r) => r.crossLatencies);
		const latencies = [...sameNode, ...crossNode];
		const held = reports.reduce((n, r) => n + r.held, 0);
		const p50 = quantile(sameNode, 0.5);
		const p99 = quantile(redis ? latencies : sameNode, 0.99);
		const cpu = ((after.cpuSeconds - before.cpuSeconds) / ((after.at - before.at) / 1000)) * 100;
		const perPeerKb = ((after.rssMb - idle.rssMb) * 1024) / held;
		const pass = p99 <= 50 && held === target && latencies.length >= rate * seconds * 1.9;
		if (pass) best = held;
		const redisCpu = redisBefore && redisAfter ? ((redisAfter.cpuSeconds - redisBefore.cpuSeconds) / ((redisAfter.at - redisBefore.at) / 1000)) * 100 : 0;
		const ms = (/** @type {number} */ x) => `${x.toFixed(1)} ms`;
		const latencyCells = redis
			? `${ms(p50)} | ${ms(quantile(sameNode, 0.99))} | ${ms(quantile(crossNode, 0.5))} | ${ms(quantile(crossNode, 0.99))}`
			: `${ms(p50)} | ${ms(p99)}`;
		const cpuCells = redis ? `${cpu.toFixed(0)} % | ${redisCpu.toFixed(0)} %` : `${cpu.toFixed(0)} %`;
		const row = `| ${held} | ${after.rssMb.toFixed(0)} MB | ${perPeerKb.toFixed(1)} KB | ${latencyCells} | ${cpuCells} | ${(target / regSeconds).toFixed(0)}/s (${failures} failed) | ${latencies.length} | ${pass ? 'yes' : 'no'} |`;
		rows.push(row);
		console.log(row);
		if (nodes.some((n) => n.server.exitCode !== null)) break;
	}
	console.log(`\nLargest step held with p99 ≤ 50 ms at ${rate} relays/s: ${best} peers (${nodeCount > 1 ? `${nodeCount} nodes'` : 'server'} idle RSS ${idle.rssMb.toFixed(0)} MB).`);
	for (const w of workers) w.send({ cmd: 'stop' });
	for (const n of nodes) {
		n.server.kill('SIGTERM');
		fs.rmSync(n.dataDir, { recursive: true, force: true });
	}
	redis?.redis.kill('SIGKILL');
}
