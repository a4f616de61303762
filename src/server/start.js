// `npm start`: builds the app if the build is missing or older than its sources, then serves
// it with the embedded PeerServer. Env: PORT (8080), HOST (127.0.0.1), ICE_SERVERS ([]), HTTPS,
// ICE_TRANSPORT_POLICY, DATA_DIR (.data), MAX_PEERS, RATE_LIMIT, ALLOWED_ORIGINS, TRUST_PROXY,
// REDIS_URL (README: "Running it for real", "Several nodes").
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseIceServers, serve } from './app.js';
import { redactUrl } from './signaling/cluster.js';
import { needsPrecompress, precompress } from './precompress.js';
import { writePreload } from './preload.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const buildDir = path.join(root, 'build');

/** @param {string} entry @returns {number} */
function newestMtime(entry) {
	if (!fs.existsSync(entry)) return 0;
	const stat = fs.statSync(entry);
	if (!stat.isDirectory()) return stat.mtimeMs;
	let newest = 0;
	for (const name of fs.readdirSync(entry)) {
		if (name === 'server') continue;
		newest = Math.max(newest, newestMtime(path.join(entry, name)));
	}
	return newest;
}

function buildIfNeeded() {
	const built = path.join(buildDir, 'index.html');
	const sources = ['src', 'machines', 'static', 'svelte.config.js', 'vite.config.ts', 'package.json'];
	const newestSource = Math.max(...sources.map((s) => newestMtime(path.join(root, s))));
	if (!fs.existsSync(built) || fs.statSync(built).mtimeMs < newestSource) {
		console.log('Building the app (vite build)…');
		const vite = path.join(root, 'node_modules', 'vite', 'bin', 'vite.js');
		// A production build whatever NODE_ENV the caller had (under NODE_ENV=test Vite builds an
		// app that never registers its service worker).
		const result = spawnSync(process.execPath, [vite, 'build'], { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
		if (result.status !== 0) process.exit(result.status ?? 1);
		// As `npm run build` does: index.html preloads the PeerJS chunk (preload.js).
		writePreload(buildDir, path.join(root, '.svelte-kit', 'output', 'client', '.vite', 'manifest.json'));
	}
	// A bare `vite build` leaves no compressed files: make them once here rather than at every start.
	if (needsPrecompress(buildDir)) {
		console.log('Compressing the build (brotli, gzip)…');
		precompress(buildDir);
	}
}

function lanAddresses() {
	return Object.values(os.networkInterfaces())
		.flat()
		.filter((i) => i && i.family === 'IPv4' && !i.internal)
		.map((i) => /** @type {os.NetworkInterfaceInfo} */ (i).address);
}

buildIfNeeded();

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const iceServers = parseIceServers(process.env.ICE_SERVERS);
const policy = process.env.ICE_TRANSPORT_POLICY;
const iceTransportPolicy = policy === 'relay' || policy === 'all' ? policy : undefined;
/** @type {{ key: string, cert: string } | undefined} */
let tls;
let caCertPath;
if (process.env.HTTPS === '1') {
	const { ensureCertificates } = await import('./certs.js');
	const certs = ensureCertificates(path.join(root, '.certs'), lanAddresses());
	tls = { key: certs.key, cert: certs.cert };
	caCertPath = certs.caPath;
	if (certs.caCreated) console.log('Made a new local CA (valid for a year): phones must trust it (again) from /ca.crt.');
	for (const address of certs.skipped) console.log(`Not in the certificate (the local CA names private addresses only): ${address}`);
}

const dataDir = path.resolve(root, process.env.DATA_DIR || '.data');
const maxPeers = process.env.MAX_PEERS ? Number(process.env.MAX_PEERS) : undefined;
if (maxPeers !== undefined && !(Number.isInteger(maxPeers) && maxPeers > 0)) {
	console.error(`MAX_PEERS must be a positive whole number, not "${process.env.MAX_PEERS}"`);
	process.exit(1);
}
const rateLimit = process.env.RATE_LIMIT !== '0';
const allowedOrigins = (process.env.ALLOWED_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const trustProxy = process.env.TRUST_PROXY === '1';
const redisUrl = process.env.REDIS_URL || undefined;

/** @type {Awaited<ReturnType<typeof serve>>} */
let served;
try {
	served = await serve({ buildDir, port, host, iceServers, iceTransportPolicy, tls, caCertPath, dataDir, maxPeers, rateLimit, allowedOrigins, trustProxy, redisUrl });
} catch (e) {
	console.error(`CamCall could not start: ${/** @type {Error} */ (e).message}`);
	process.exit(1);
}
const { url, port: actualPort } = served;
console.log(`CamCall is running: ${url}`);
const health = served.health();
const where = redisUrl ? `presence, ID reservations and relay shared through Redis at ${redactUrl(redisUrl)}, node ${health?.node}` : `ID reservations in ${dataDir}`;
console.log(`Signaling: embedded PeerServer at ${url}/peerjs (ICE servers: ${iceServers.length}; ${where}${rateLimit ? '' : '; per-address limits OFF'})`);
if (host === '0.0.0.0') {
	const scheme = tls ? 'https' : 'http';
	for (const address of lanAddresses()) {
		const lan = `${scheme}://${address}:${actualPort}`;
		console.log(`On your LAN: ${lan}`);
		if (tls) console.log(`  Trust the local CA on a phone first: ${lan}/ca.crt`);
		try {
			const { default: QRCode } = await import('qrcode');
			console.log(await QRCode.toString(lan, { type: 'terminal', small: true }));
		} catch {
			/* the QR code is a convenience */
		}
	}
	if (!tls) console.log('Phones need a secure context for the camera: use HTTPS=1, or USB with `adb reverse`.');
}

if (redisUrl) {
	// A node stopped on purpose (a deploy) takes its peers' presence out of Redis first, so the
	// other nodes stop sending here at once instead of when it expires.
	const stop = () => {
		const forced = setTimeout(() => process.exit(0), 3000);
		forced.unref();
		void served.close().finally(() => process.exit(0));
	};
	process.once('SIGTERM', stop);
	process.once('SIGINT', stop);
}
