// The production server: the built PWA plus an embedded PeerServer at /peerjs on one port.
// Used by `npm start` (start.js) and by the browser tests and benchmarks.
import express from 'express';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { ReservationStore } from './signaling/reservations.js';
import { newNodeId, openCluster } from './signaling/cluster.js';
import { createSignaling } from './signaling/server.js';
import { loadBuild, mountApp, securityHeaders } from './static.js';

/**
 * @typedef {object} ServeOptions
 * @property {string} buildDir     the adapter-static output
 * @property {number} [port]       0 picks a free port
 * @property {string} [host]
 * @property {RTCIceServer[]} [iceServers]
 * @property {RTCIceTransportPolicy} [iceTransportPolicy]  'relay' forces media through TURN
 * @property {boolean} [peerServer]  mount the embedded PeerServer (default true)
 * @property {number} [signalingPort] advertise a PeerServer on this port instead of our own
 * @property {boolean} [app]         serve the built app (default true; false: PeerServer only)
 * @property {{ key: string, cert: string }} [tls]   serve HTTPS
 * @property {string} [caCertPath] served at /ca.crt for phones to trust
 * @property {Record<string, string>} [extraStatic]  url prefix → directory (benchmarks)
 * @property {Record<string, () => string | undefined>} [overrides]  url path → body served instead
 *   of the build's file while the function returns one (tests: a changed sw.js is a new version)
 * @property {string | null} [dataDir]  where ID reservations live (null: in memory only)
 * @property {number} [maxPeers]     most peers registered at once
 * @property {boolean} [rateLimit]   per-address limits on /peerjs (default true)
 * @property {string[]} [allowedOrigins]  origins besides our own that may use /peerjs
 * @property {boolean} [trustProxy]  behind a reverse proxy: the address from X-Forwarded-For
 * @property {string} [redisUrl]     REDIS_URL: share presence, reservations and relay with every
 *   node on that Redis (dataDir is then unused); unreachable at start is an error
 * @property {{ presenceTtlMs?: number, refreshMs?: number, nodeId?: string }} [cluster]  tests: shorter timings
 * @property {(text: string) => void} [log]  where Redis trouble is reported (default console)
 */

/** Parses env ICE_SERVERS: a JSON array of RTCIceServer; default [] (host candidates serve a LAN). */
/** @param {string | undefined} raw @returns {RTCIceServer[]} */
export function parseIceServers(raw) {
	if (!raw) return [];
	const parsed = JSON.parse(raw);
	if (!Array.isArray(parsed)) throw new Error('ICE_SERVERS must be a JSON array of RTCIceServer');
	return parsed;
}

/** @param {ServeOptions} options */
export async function serve(options) {
	const app = express();
	const server = options.tls ? https.createServer(options.tls, app) : http.createServer(app);
	const iceServers = options.iceServers ?? [];
	app.disable('x-powered-by');
	const build = options.app !== false ? loadBuild(options.buildDir) : null;
	app.use(securityHeaders({ scriptHashes: build?.scriptHashes, tls: !!options.tls, signalingPort: options.signalingPort }));

	if (options.trustProxy) app.set('trust proxy', true);

	// The PeerServer protocol at /peerjs (src/server/signaling/). Short expiry so a call to an
	// unknown ID fails within 2 s; no peer listing.
	/** @type {ReturnType<typeof createSignaling> | null} */
	let signaling = null;
	/** @type {ReservationStore | null} */
	let store = null;
	/** @type {import('./signaling/cluster.js').Cluster | null} */
	let cluster = null;
	if (options.peerServer !== false) {
		if (options.redisUrl) {
			cluster = await openCluster(options.redisUrl, { ...options.cluster, log: options.log });
		} else {
			store = options.dataDir ? await ReservationStore.open(options.dataDir) : ReservationStore.memory();
		}
		signaling = createSignaling({
			server,
			store,
			cluster: cluster ?? undefined,
			nodeId: newNodeId(),
			path: '/peerjs',
			expireTimeout: 1500,
			cleanupInterval: 500,
			maxPeers: options.maxPeers,
			rateLimit: options.rateLimit,
			allowedOrigins: options.allowedOrigins,
			trustProxy: options.trustProxy
		});
		app.use('/peerjs', signaling.router);
	}

	// For load balancers and operators: which node this is, whether it reaches Redis, how many
	// peers it holds. 503 while Redis is away: this node refuses new registrations meanwhile.
	app.get('/healthz', (_req, res) => {
		const health = signaling?.health() ?? { node: null, redis: 'off', peers: 0 };
		res.set('Cache-Control', 'no-store');
		res.status(health.redis === 'off' || health.redis === 'ready' ? 200 : 503).json(health);
	});

	// Same-origin signaling config. Host and port come from the request, so the answer is right
	// behind `adb reverse`, on a LAN address, or on localhost alike.
	app.get('/signaling.json', (req, res) => {
		const secure = !!options.tls;
		const hostHeader = req.headers.host ?? '';
		const portMatch = /:(\d+)$/.exec(hostHeader);
		const port = options.signalingPort ?? (portMatch ? Number(portMatch[1]) : secure ? 443 : 80);
		res.set('Cache-Control', 'no-store');
		res.json({
			host: req.hostname,
			port,
			path: '/peerjs',
			secure,
			key: 'peerjs',
			iceServers,
			...(options.iceTransportPolicy ? { iceTransportPolicy: options.iceTransportPolicy } : {})
		});
	});

	const caCertPath = options.caCertPath;
	if (caCertPath) {
		app.get('/ca.crt', (_req, res) => {
			res.type('application/x-x509-ca-cert');
			res.sendFile(path.resolve(caCertPath));
		});
	}

	for (const [url, body] of Object.entries(options.overrides ?? {})) {
		app.get(url, (_req, res, next) => {
			const text = body();
			if (text === undefined) return next();
			res.setHeader('Cache-Control', 'no-cache');
			res.type(path.extname(url) || 'html').send(text);
		});
	}

	for (const [prefix, dir] of Object.entries(options.extraStatic ?? {})) {
		app.use(prefix, express.static(dir));
	}

	if (build) mountApp(app, build);

	/** @type {Set<import('node:net').Socket>} */
	const sockets = new Set();
	server.on('connection', (socket) => {
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
	});

	try {
		await new Promise((resolve, reject) => {
			server.once('error', reject);
			server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => resolve(undefined));
		});
	} catch (e) {
		await signaling?.close();
		await store?.close();
		await cluster?.close();
		throw e;
	}
	const address = /** @type {import('node:net').AddressInfo} */ (server.address());
	const scheme = options.tls ? 'https' : 'http';
	const shownHost = address.address === '0.0.0.0' || address.address === '::' ? 'localhost' : address.address;
	return {
		server,
		port: address.port,
		url: `${scheme}://${shownHost}:${address.port}`,
		/** Signaling figures: peers held, sockets, relayed/rejected/expired counts. */
		stats: () => signaling?.stats() ?? null,
		/** What /healthz answers. */
		health: () => signaling?.health() ?? null,
		/** Stops at once, dropping open sockets (tests restart the server mid-call). */
		async close() {
			const closing = signaling?.close();
			await new Promise((resolve) => {
				for (const socket of sockets) socket.destroy();
				server.close(() => resolve(undefined));
			});
			await closing;
			await store?.close();
			await cluster?.close();
		}
	};
}
