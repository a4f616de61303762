// The PeerServer protocol layer, on `ws`: what stock PeerJS 1.5 clients expect of a PeerServer
// (the cloud-compatible URLs: WebSocket at <path>/peerjs?key=&id=&token=, GET <path>/<key>/id),
// built for the open internet. `peer` 1.0.2 (its latest release) exits the process on one
// malformed frame, relays whatever it is given, takes 100 MB frames, fills at 5,000 peers, never
// answers an owner reclaiming its ID while the old socket lingers, and forgets who owned an ID at
// every restart; none of that is reachable by wrapping it, so this replaces it. The stock server
// stays in devDependencies as the reference the conformance test compares against.
//
// Every frame is checked (protocol.js) and rebuilt before it is relayed; a bad one costs its
// sender an ERROR, never anyone else anything. Limits are per remote address (limits.js) plus a
// global peer cap; IDs have owners (reservations.js).
import { readableId } from './words.js';
import express from 'express';
import { WebSocketServer, WebSocket } from 'ws';
import { Errors, MAX_FRAME_BYTES, isValidId, isValidToken, parseClientMessage } from './protocol.js';
import { KeyedLimiter, MAX_SOCKETS_PER_ADDRESS, RULES, TokenBucket, addressKey, defaultMaxPeers, remoteAddress } from './limits.js';

/**
 * @typedef {object} SignalingOptions
 * @property {import('node:http').Server} server   the HTTP(S) server whose upgrades we take
 * @property {import('./reservations.js').ReservationStore} store
 * @property {string} [path]           mount path (default /peerjs)
 * @property {string} [key]            the PeerJS API key clients must name (default peerjs)
 * @property {number} [expireTimeout]  ms a message to an unknown ID waits before EXPIRE
 * @property {number} [cleanupInterval] ms between sweeps of waiting messages
 * @property {number} [aliveTimeout]   ms without any message before a socket is dropped
 * @property {number} [maxPeers]       most registered peers (measured capacity)
 * @property {boolean} [rateLimit]     per-address limits (false for load tests)
 * @property {string[]} [allowedOrigins]  origins besides the app's own that may use /peerjs
 * @property {boolean} [trustProxy]    remote address from X-Forwarded-For
 */

/** Messages waiting for one ID that is still connecting, and for all IDs together. */
const MAX_QUEUE_PER_PEER = 64;
const MAX_QUEUED_BYTES = 32 * 1024 * 1024;
/** A receiver this far behind is not reading: drop it rather than buffer for it. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** Invalid frames a socket may send before it is closed. */
const MAX_INVALID_FRAMES = 20;

/**
 * @typedef {object} Client
 * @property {string} id
 * @property {string} tokenHash
 * @property {WebSocket} ws
 * @property {string} address   the limiter key of its remote address
 * @property {number} lastSeen
 * @property {boolean} opened   OPEN sent (its reservation is durable)
 * @property {TokenBucket} bucket
 * @property {number} invalid
 * @property {Promise<void>} [pending]  its reservation being written (OPEN waits for it)
 */

/** @param {SignalingOptions} options */
export function createSignaling(options) {
	const {
		server,
		store,
		path = '/peerjs',
		key = 'peerjs',
		expireTimeout = 1500,
		cleanupInterval = 500,
		aliveTimeout = 60_000,
		maxPeers = defaultMaxPeers(),
		rateLimit = true,
		allowedOrigins = [],
		trustProxy = false
	} = options;
	const wsPath = `${path.replace(/\/$/, '')}/peerjs`;
	const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false, clientTracking: false });

	const limits = {
		registrations: new KeyedLimiter(RULES.registrations, { enabled: rateLimit }),
		http: new KeyedLimiter(RULES.http, { enabled: rateLimit }),
		messages: new KeyedLimiter(RULES.messages, { enabled: rateLimit })
	};
	/** @type {Map<string, Client>} registered (or registering) peers by ID */
	const clients = new Map();
	/** @type {Map<string, { src: string, type: string, data: string, at: number }[]>} */
	const queues = new Map();
	let queuedBytes = 0;
	/** @type {Map<string, number>} open sockets per address key */
	const socketsPerAddress = new Map();
	/** @type {Set<WebSocket>} */
	const sockets = new Set();
	const counters = { relayed: 0, rejected: 0, expired: 0 };

	/** @param {import('node:http').IncomingMessage} req */
	function originAllowed(req) {
		const origin = req.headers.origin;
		if (origin === undefined) return true; // not a browser: an Origin check can't stop it anyway
		if (allowedOrigins.includes(origin)) return true;
		const forwarded = trustProxy ? req.headers['x-forwarded-host'] : undefined;
		const host = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0].trim() ?? req.headers.host;
		try {
			return !!host && new URL(origin).host === host.toLowerCase();
		} catch {
			return false;
		}
	}

	/**
	 * @param {import('node:stream').Duplex} socket
	 * @param {number} status @param {string} reason
	 */
	function refuse(socket, status, reason) {
		counters.rejected++;
		const body = `${reason}\n`;
		socket.end(
			`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
		);
	}

	/**
	 * @param {import('node:http').IncomingMessage} req
	 * @param {import('node:stream').Duplex} socket
	 * @param {Buffer} head
	 */
	function onUpgrade(req, socket, head) {
		socket.on('error', () => {}); // a reset mid-handshake is the client's problem only
		const url = new URL(req.url ?? '/', 'http://x');
		if (url.pathname !== wsPath && url.pathname !== `${wsPath}/`) return refuse(socket, 404, 'Not Found');
		if (!originAllowed(req)) return refuse(socket, 403, 'Forbidden');
		const address = addressKey(remoteAddress(req, trustProxy));
		if (sockets.size >= maxPeers + 200) return refuse(socket, 503, 'Service Unavailable');
		if (rateLimit && (socketsPerAddress.get(address) ?? 0) >= MAX_SOCKETS_PER_ADDRESS) return refuse(socket, 429, 'Too Many Requests');
		if (!limits.registrations.take(address)) return refuse(socket, 429, 'Too Many Requests');
		wss.handleUpgrade(req, socket, head, (ws) => onSocket(ws, url.searchParams, address));
	}

	/** @param {WebSocket} ws @param {unknown} message */
	function send(ws, message) {
		if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
	}

	/** @param {WebSocket} ws @param {string} msg */
	function sendError(ws, msg) {
		send(ws, { type: 'ERROR', payload: { msg } });
	}

	/** @param {WebSocket} ws @param {string} msg */
	function refuseSocket(ws, msg) {
		counters.rejected++;
		sendError(ws, msg);
		ws.close();
	}

	/**
	 * @param {WebSocket} ws
	 * @param {URLSearchParams} params
	 * @param {string} address
	 */
	function onSocket(ws, params, address) {
		sockets.add(ws);
		socketsPerAddress.set(address, (socketsPerAddress.get(address) ?? 0) + 1);
		// Invalid UTF-8 or an oversized frame: ws reports it here and closes the socket.
		ws.on('error', () => {});
		ws.on('close', () => {
			sockets.delete(ws);
			const left = (socketsPerAddress.get(address) ?? 1) - 1;
			if (left > 0) socketsPerAddress.set(address, left);
			else socketsPerAddress.delete(address);
		});

		const id = params.get('id');
		const token = params.get('token');
		const apiKey = params.get('key');
		if (!id || !token || !apiKey) return refuseSocket(ws, Errors.INVALID_WS_PARAMETERS);
		if (apiKey !== key) return refuseSocket(ws, Errors.INVALID_KEY);
		if (!isValidId(id)) return refuseSocket(ws, Errors.INVALID_ID);
		if (!isValidToken(token)) return refuseSocket(ws, Errors.INVALID_TOKEN);

		const tokenHash = store.hash(token);
		const live = clients.get(id);
		if (live) {
			if (live.tokenHash !== tokenHash) return idTaken(ws);
			// The owner is back (a reload, a new network) while its old socket lingers: the new
			// socket gets the ID at once and the old one goes.
			const client = register(ws, id, tokenHash, address);
			live.ws.close(1000, 'Replaced by a new connection with the same ID');
			if (live.opened) open(client);
			else client.pending = live.pending;
			client.pending?.then(() => open(client), () => {});
			return;
		}
		const owner = store.check(id, token);
		if (owner === 'taken') return idTaken(ws);
		if (clients.size >= maxPeers) return refuseSocket(ws, Errors.CONNECTION_LIMIT_EXCEED);
		if (owner === 'owner') {
			store.touch(id);
			open(register(ws, id, tokenHash, address));
			return;
		}
		if (store.full()) return refuseSocket(ws, Errors.RESERVATIONS_FULL);
		const client = register(ws, id, tokenHash, address);
		// OPEN only once the reservation is on disk: an acknowledged ID survives kill -9.
		client.pending = store.reserve(id, token);
		client.pending.then(
			() => open(client),
			() => {
				if (clients.get(id) === client) clients.delete(id);
				store.entries.delete(id);
				refuseSocket(ws, Errors.STORE_FAILED);
			}
		);
	}

	/** @param {WebSocket} ws */
	function idTaken(ws) {
		counters.rejected++;
		send(ws, { type: 'ID-TAKEN', payload: { msg: 'ID is taken' } });
		ws.close();
	}

	/**
	 * @param {WebSocket} ws @param {string} id @param {string} tokenHash @param {string} address
	 * @returns {Client}
	 */
	function register(ws, id, tokenHash, address) {
		/** @type {Client} */
		const client = {
			id,
			tokenHash,
			ws,
			address,
			lastSeen: Date.now(),
			opened: false,
			bucket: new TokenBucket(RULES.socketMessages, Date.now()),
			invalid: 0
		};
		clients.set(id, client);
		ws.on('message', (data, isBinary) => onMessage(client, /** @type {Buffer} */ (data), isBinary));
		ws.on('close', () => {
			if (clients.get(id) !== client) return;
			clients.delete(id);
			store.touch(id);
		});
		return client;
	}

	/** Sends OPEN and what waited for this ID. @param {Client} client */
	function open(client) {
		if (clients.get(client.id) !== client || client.opened || client.ws.readyState !== WebSocket.OPEN) return;
		client.opened = true;
		send(client.ws, { type: 'OPEN' });
		const queue = queues.get(client.id);
		if (!queue) return;
		queues.delete(client.id);
		for (const item of queue) {
			queuedBytes -= item.data.length;
			client.ws.send(item.data);
			counters.relayed++;
		}
	}

	/** @param {Client} client @param {Buffer} data @param {boolean} isBinary */
	function onMessage(client, data, isBinary) {
		const now = Date.now();
		client.lastSeen = now;
		if (rateLimit && (!client.bucket.take(now) || !limits.messages.take(client.address))) {
			return refuseSocket(client.ws, Errors.RATE_LIMITED);
		}
		if (isBinary) return invalid(client, Errors.BINARY);
		const parsed = parseClientMessage(data.toString('utf8'));
		if (!parsed.ok) return invalid(client, parsed.error);
		const message = parsed.message;
		if (message.type === 'HEARTBEAT') return;
		if (message.type === 'LEAVE' && message.dst === null) {
			client.ws.close(1000, 'Left');
			return;
		}
		relay(client.id, message);
	}

	/** @param {Client} client @param {string} error */
	function invalid(client, error) {
		client.invalid++;
		if (client.invalid > MAX_INVALID_FRAMES) return refuseSocket(client.ws, error);
		sendError(client.ws, error);
	}

	/**
	 * @param {string} src
	 * @param {Exclude<import('./protocol.js').ClientMessage, { type: 'HEARTBEAT' }>} message
	 */
	function relay(src, message) {
		const dst = /** @type {string} */ (message.dst);
		const data = JSON.stringify('payload' in message ? { type: message.type, src, dst, payload: message.payload } : { type: message.type, src, dst });
		const target = clients.get(dst);
		if (target?.opened) {
			if (target.ws.readyState === WebSocket.OPEN && target.ws.bufferedAmount <= MAX_BUFFERED_BYTES) {
				target.ws.send(data);
				counters.relayed++;
				return;
			}
			// Not reading (or gone without a close yet): drop it and tell the sender, as the stock
			// server does when a send fails.
			clients.delete(dst);
			target.ws.terminate();
			if (message.type !== 'LEAVE') deliverFromServer(src, { type: 'LEAVE', src: dst, dst: src });
			return;
		}
		if (message.type === 'LEAVE') return;
		// The peer may still be connecting: hold the message briefly, bounded.
		const queue = queues.get(dst) ?? [];
		if (queue.length >= MAX_QUEUE_PER_PEER || queuedBytes + data.length > MAX_QUEUED_BYTES) {
			deliverFromServer(src, { type: 'EXPIRE', src: dst, dst: src });
			counters.expired++;
			return;
		}
		queue.push({ src, type: message.type, data, at: Date.now() });
		queuedBytes += data.length;
		queues.set(dst, queue);
	}

	/** @param {string} id @param {unknown} message */
	function deliverFromServer(id, message) {
		const client = clients.get(id);
		if (client?.opened) send(client.ws, message);
	}

	/** Messages that waited too long: the sender hears EXPIRE (PeerJS: peer-unavailable). */
	function expireQueued() {
		const cutoff = Date.now() - expireTimeout;
		for (const [dst, queue] of queues) {
			if (clients.get(dst)?.opened) continue;
			/** @type {Set<string>} */
			const told = new Set();
			let keep = 0;
			for (const item of queue) {
				if (item.at > cutoff) {
					queue[keep++] = item;
					continue;
				}
				queuedBytes -= item.data.length;
				if (!told.has(item.src)) {
					told.add(item.src);
					deliverFromServer(item.src, { type: 'EXPIRE', src: dst, dst: item.src });
					counters.expired++;
				}
			}
			queue.length = keep;
			if (keep === 0) queues.delete(dst);
		}
	}

	/** Sockets that went silent (PeerJS sends a heartbeat every 5 s). */
	function dropSilent() {
		const cutoff = Date.now() - aliveTimeout;
		for (const client of clients.values()) if (client.lastSeen < cutoff) client.ws.terminate();
		for (const limiter of Object.values(limits)) limiter.sweep();
	}

	const expiry = setInterval(expireQueued, cleanupInterval);
	const alive = setInterval(dropSilent, Math.min(5000, aliveTimeout));
	expiry.unref();
	alive.unref();
	server.on('upgrade', onUpgrade);

	// HTTP: the PeerJS client's GET <path>/<key>/id for a fresh ID, and the server's banner.
	const router = express.Router();
	router.use((req, res, next) => {
		if (!originAllowed(req)) return void res.status(403).type('text').send('Forbidden');
		if (!limits.http.take(addressKey(remoteAddress(req, trustProxy)))) return void res.status(429).type('text').send('Too Many Requests');
		const origin = req.headers.origin;
		if (origin) {
			res.setHeader('Access-Control-Allow-Origin', origin);
			res.setHeader('Vary', 'Origin');
		}
		res.setHeader('Cache-Control', 'no-store');
		next();
	});
	router.get('/', (_req, res) => {
		res.json({ name: 'PeerJS Server', description: 'A server side element to broker connections between PeerJS clients.', website: 'https://peerjs.com/' });
	});
	router.get('/:key/id', (req, res) => {
		if (req.params.key !== key) return void res.status(404).type('text').send('Unknown key');
		// Words and digits a person can read out; drawn again while held or reserved.
		let id = readableId();
		while (clients.has(id) || store.live(id)) id = readableId();
		res.type('html').send(id);
	});
	router.get('/:key/peers', (_req, res) => void res.sendStatus(401));
	router.use((_req, res) => void res.status(404).type('text').send('Not Found'));

	return {
		router,
		/** Figures for logs, health checks and the load test. */
		stats() {
			return { peers: clients.size, sockets: sockets.size, queued: queuedBytes, ...counters };
		},
		/** Stops timers and drops every socket (the store is closed by its owner). */
		close() {
			clearInterval(expiry);
			clearInterval(alive);
			server.off('upgrade', onUpgrade);
			for (const ws of sockets) ws.terminate();
			clients.clear();
			queues.clear();
		}
	};
}
