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
import { Errors, MAX_ENVELOPE_BYTES, MAX_FRAME_BYTES, isValidId, isValidToken, parseClientMessage } from './protocol.js';
import { KeyedLimiter, MAX_SOCKETS_PER_ADDRESS, RULES, TokenBucket, addressKey, defaultMaxPeers, remoteAddress } from './limits.js';

/**
 * @typedef {object} SignalingOptions
 * @property {import('node:http').Server} server   the HTTP(S) server whose upgrades we take
 * @property {import('./reservations.js').ReservationStore | null} store  ID reservations on one node
 * @property {import('./cluster.js').Cluster} [cluster]  several nodes on one Redis (REDIS_URL):
 *   reservations and presence there, messages for peers on other nodes through it
 * @property {string} [nodeId]         this node's name in /healthz (the cluster's, when there is one)
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
/** With a cluster: how often messages waiting for a peer held nowhere here are looked up again
 * (it may be registering on another node). */
const RECHECK_MS = 150;

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
 * @property {Claim} [claim]  with a cluster: its claim of the ID in Redis (shared with the socket it replaced)
 */

/**
 * @typedef {object} Claim
 * @property {number} [seq]     set once Redis granted it: presence is "<node>|<seq>"
 * @property {number} kickedBy  a later claim elsewhere told us to go before ours was answered
 */

/** @typedef {{ src: string, type: string, data: string, at: number }} Queued */

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
		trustProxy = false,
		cluster
	} = options;
	const nodeId = cluster?.nodeId ?? options.nodeId ?? 'single';
	const wsPath = `${path.replace(/\/$/, '')}/peerjs`;
	const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false, clientTracking: false });

	const limits = {
		registrations: new KeyedLimiter(RULES.registrations, { enabled: rateLimit }),
		http: new KeyedLimiter(RULES.http, { enabled: rateLimit }),
		messages: new KeyedLimiter(RULES.messages, { enabled: rateLimit })
	};
	/** @type {Map<string, Client>} registered (or registering) peers by ID */
	const clients = new Map();
	/** @type {Map<string, Queued[]>} */
	const queues = new Map();
	let queuedBytes = 0;
	/** @type {Map<string, number>} open sockets per address key */
	const socketsPerAddress = new Map();
	/** @type {Set<WebSocket>} */
	const sockets = new Set();
	const counters = { relayed: 0, rejected: 0, expired: 0, toNodes: 0, fromNodes: 0, badFromNodes: 0 };

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
		if (cluster) return onClusterSocket(ws, id, token, address);
		if (!store) throw new Error('signaling needs a store or a cluster');

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
			if (!cluster) return void store?.touch(id);
			const seq = client.claim?.seq;
			if (seq !== undefined) cluster.release(id, seq, tokenHash).catch(() => {});
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
		if (target?.opened) return deliverTo(target, src, message.type, data);
		if (cluster) {
			// Held here but still connecting: wait for its OPEN. Held nowhere here: ask Redis
			// who holds it (the message waits in the queue meanwhile, so order is kept).
			if (!enqueue(dst, src, message.type, data, Date.now()) && message.type !== 'LEAVE') expireNow(src, dst);
			if (!target) void forwardQueued([dst]);
			return;
		}
		if (message.type === 'LEAVE') return;
		// The peer may still be connecting: hold the message briefly, bounded.
		if (!enqueue(dst, src, message.type, data, Date.now())) expireNow(src, dst);
	}

	/** Sends a relayed message to a peer held here. @param {Client} target @param {string} src @param {string} type @param {string} data */
	function deliverTo(target, src, type, data) {
		if (target.ws.readyState === WebSocket.OPEN && target.ws.bufferedAmount <= MAX_BUFFERED_BYTES) {
			target.ws.send(data);
			counters.relayed++;
			return;
		}
		// Not reading (or gone without a close yet): drop it and tell the sender, as the stock
		// server does when a send fails.
		clients.delete(target.id);
		target.ws.terminate();
		const seq = target.claim?.seq;
		if (cluster && seq !== undefined) cluster.release(target.id, seq, target.tokenHash).catch(() => {});
		if (type !== 'LEAVE') deliverFromServer(src, { type: 'LEAVE', src: target.id, dst: src });
	}

	/** Holds a message for `dst`, bounded; false when there is no room. @param {string} dst @param {string} src @param {string} type @param {string} data @param {number} at */
	function enqueue(dst, src, type, data, at) {
		const queue = queues.get(dst) ?? [];
		if (queue.length >= MAX_QUEUE_PER_PEER || queuedBytes + data.length > MAX_QUEUED_BYTES) return false;
		queue.push({ src, type, data, at });
		queuedBytes += data.length;
		queues.set(dst, queue);
		return true;
	}

	/** @param {string} src @param {string} dst */
	function expireNow(src, dst) {
		deliverFromServer(src, { type: 'EXPIRE', src: dst, dst: src });
		counters.expired++;
	}

	/** @param {string} id @param {{ type: 'EXPIRE' | 'LEAVE', src: string, dst: string }} message */
	function deliverFromServer(id, message) {
		const client = clients.get(id);
		if (client?.opened) return send(client.ws, message);
		if (!cluster || client) return;
		// The sender of a message forwarded to us is held by another node.
		cluster
			.locate([id])
			.then(([at]) => {
				if (at && at.node !== nodeId) return cluster.publish(at.node, JSON.stringify({ t: 'notice', dst: id, type: message.type, src: message.src }));
			})
			.catch(() => {});
	}

	// --- Several nodes on one Redis (cluster.js) ---------------------------------------------

	/**
	 * Registration with a cluster: the claim is Redis's (atomic across nodes); OPEN once granted.
	 * @param {WebSocket} ws @param {string} id @param {string} token @param {string} address
	 */
	function onClusterSocket(ws, id, token, address) {
		const c = /** @type {import('./cluster.js').Cluster} */ (cluster);
		const tokenHash = c.hash(token);
		const live = clients.get(id);
		if (live) {
			if (live.tokenHash !== tokenHash) return idTaken(ws);
			// The owner back on this node while its old socket lingers: same claim, new socket.
			const client = register(ws, id, tokenHash, address);
			client.claim = live.claim;
			live.ws.close(1000, 'Replaced by a new connection with the same ID');
			if (live.opened) open(client);
			return;
		}
		if (clients.size >= maxPeers) return refuseSocket(ws, Errors.CONNECTION_LIMIT_EXCEED);
		// Without Redis this node cannot know who owns the ID, nor tell the others it holds it.
		if (c.state !== 'ready') return refuseSocket(ws, Errors.STORE_FAILED);
		const client = register(ws, id, tokenHash, address);
		/** @type {Claim} */
		const claim = { kickedBy: 0 };
		client.claim = claim;
		c.claim(id, tokenHash).then(
			(granted) => {
				const holder = clients.get(id);
				const ours = holder?.claim === claim ? holder : null;
				if (granted.result === 'taken') {
					if (ours) {
						clients.delete(id);
						idTaken(ours.ws);
					}
					return;
				}
				claim.seq = granted.seq;
				// The owner took its ID over from another node: that node closes its socket.
				if (granted.prev && granted.prev.node !== nodeId) publishTo(granted.prev.node, { t: 'kick', id, seq: granted.seq });
				if (!ours) return void c.release(id, granted.seq, tokenHash).catch(() => {});
				if (claim.kickedBy > granted.seq) return replaced(ours);
				open(ours);
			},
			() => {
				const holder = clients.get(id);
				if (holder?.claim !== claim) return;
				clients.delete(id);
				refuseSocket(holder.ws, Errors.STORE_FAILED);
			}
		);
	}

	/** A newer claim of this client's ID won on another node. @param {Client} client */
	function replaced(client) {
		if (clients.get(client.id) === client) clients.delete(client.id);
		client.ws.close(1000, 'Replaced by a new connection with the same ID');
	}

	/** @param {string} node @param {unknown} envelope */
	function publishTo(node, envelope) {
		return /** @type {import('./cluster.js').Cluster} */ (cluster).publish(node, JSON.stringify(envelope));
	}

	/** @type {Set<string>} IDs being looked up in Redis */
	const lookingUp = new Set();

	/**
	 * Sends what waits for each of `dsts` to the node that holds it, in order, one batch per ID.
	 * A batch that reached nobody (that node is gone) goes back to the front of its queue, and the
	 * dead node's presence with it; what is never delivered expires as on one node.
	 * @param {string[]} dsts
	 */
	async function forwardQueued(dsts) {
		const c = /** @type {import('./cluster.js').Cluster} */ (cluster);
		const todo = dsts.filter((d) => !lookingUp.has(d));
		if (todo.length === 0 || c.state !== 'ready') return;
		for (const d of todo) lookingUp.add(d);
		/** @type {(import('./cluster.js').Presence | null)[]} */
		let found = [];
		try {
			found = await c.locate(todo);
		} catch {
			/* Redis away: they wait, then expire */
		} finally {
			for (const d of todo) lookingUp.delete(d);
		}
		todo.forEach((dst, i) => {
			const at = found[i];
			const queue = queues.get(dst);
			if (!at || at.node === nodeId || clients.has(dst) || !queue) return;
			queues.delete(dst);
			for (const item of queue) queuedBytes -= item.data.length;
			// Batches well under what the far node takes (MAX_ENVELOPE_BYTES), sent in order.
			for (let start = 0; start < queue.length; ) {
				let end = start;
				let bytes = 0;
				while (end < queue.length && (end === start || bytes + queue[end].data.length < MAX_ENVELOPE_BYTES / 2)) bytes += queue[end++].data.length;
				const batch = queue.slice(start, end);
				start = end;
				const now = Date.now();
				const items = batch.map((item) => ({ src: item.src, data: item.data, age: now - item.at }));
				publishTo(at.node, { t: 'relay', dst, items }).then(
					(listeners) => {
						if (listeners > 0) return void (counters.toNodes += items.length);
						void c.dropStale(dst, at).catch(() => {});
						requeue(dst, batch);
					},
					() => requeue(dst, batch)
				);
			}
		});
	}

	/** @param {string} dst @param {Queued[]} items */
	function requeue(dst, items) {
		const later = queues.get(dst) ?? [];
		queues.set(dst, [...items, ...later]);
		for (const item of items) queuedBytes += item.data.length;
	}

	/**
	 * A message from another node's channel. Anyone who can write to that Redis can put anything
	 * here: parsed and checked as a frame from the network is, and a bad one is counted and dropped.
	 * @param {Buffer} raw
	 */
	function onNodeMessage(raw) {
		try {
			if (raw.length > MAX_ENVELOPE_BYTES) throw new Error('too large');
			const m = JSON.parse(raw.toString('utf8'));
			if (typeof m !== 'object' || m === null) throw new Error('not an object');
			if (m.t === 'relay') return fromNode(m);
			if (m.t === 'notice') {
				if ((m.type !== 'EXPIRE' && m.type !== 'LEAVE') || !isValidId(m.dst) || !isValidId(m.src)) throw new Error('bad notice');
				counters.fromNodes++;
				const client = clients.get(m.dst);
				if (client?.opened) send(client.ws, { type: m.type, src: m.src, dst: m.dst });
				return;
			}
			if (m.t === 'kick') {
				if (!isValidId(m.id) || !Number.isSafeInteger(m.seq)) throw new Error('bad kick');
				const client = clients.get(m.id);
				if (!client?.claim) return;
				if (client.claim.seq === undefined) client.claim.kickedBy = Math.max(client.claim.kickedBy, m.seq);
				else if (client.claim.seq < m.seq) replaced(client);
				return;
			}
			throw new Error('unknown kind');
		} catch {
			counters.badFromNodes++;
		}
	}

	/** @param {any} m */
	function fromNode(m) {
		if (!isValidId(m.dst) || !Array.isArray(m.items) || m.items.length > MAX_QUEUE_PER_PEER) throw new Error('bad relay');
		const dst = m.dst;
		const now = Date.now();
		for (const item of m.items) {
			if (typeof item !== 'object' || item === null || !isValidId(item.src) || typeof item.data !== 'string' || item.data.length > MAX_FRAME_BYTES * 2) {
				counters.badFromNodes++;
				continue;
			}
			const parsed = parseClientMessage(item.data);
			if (!parsed.ok || parsed.message.type === 'HEARTBEAT' || parsed.message.dst !== dst) {
				counters.badFromNodes++;
				continue;
			}
			const message = parsed.message;
			const src = item.src;
			// Rebuilt from checked fields, like a frame from a socket here.
			const data = JSON.stringify('payload' in message ? { type: message.type, src, dst, payload: message.payload } : { type: message.type, src, dst });
			counters.fromNodes++;
			const target = clients.get(dst);
			if (target?.opened) {
				deliverTo(target, src, message.type, data);
				continue;
			}
			const age = Number.isFinite(item.age) ? Math.min(Math.max(item.age, 0), expireTimeout) : expireTimeout;
			if (!enqueue(dst, src, message.type, data, now - age) && message.type !== 'LEAVE') expireNow(src, dst);
		}
	}

	/** Re-records every peer held here; closes those that were taken over meanwhile. */
	async function refreshHeld() {
		const c = /** @type {import('./cluster.js').Cluster} */ (cluster);
		if (c.state !== 'ready') return;
		/** @type {{ id: string, seq: number, tokenHash: string }[]} */
		const held = [];
		for (const client of clients.values()) {
			const seq = client.claim?.seq;
			if (seq !== undefined) held.push({ id: client.id, seq, tokenHash: client.tokenHash });
		}
		try {
			for (const id of await c.refresh(held)) {
				const client = clients.get(id);
				if (client) replaced(client);
			}
		} catch {
			/* Redis away: the next refresh after it is back */
		}
	}

	/** Queued messages for peers not held here: look again (they may have opened elsewhere). */
	function recheckQueued() {
		if (queues.size === 0) return;
		/** @type {string[]} */
		const dsts = [];
		for (const dst of queues.keys()) {
			if (!clients.has(dst) && !lookingUp.has(dst)) dsts.push(dst);
			if (dsts.length >= 1000) break;
		}
		void forwardQueued(dsts);
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
				// A LEAVE that found nobody needs no answer (one node never holds them).
				if (!told.has(item.src) && item.type !== 'LEAVE') {
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
	/** @type {NodeJS.Timeout[]} */
	const clusterTimers = [];
	if (cluster) {
		cluster.onMessage(onNodeMessage);
		// Back from a Redis outage: at once, since Redis may have restarted with nothing in it.
		cluster.onState((state) => state === 'ready' && void refreshHeld());
		clusterTimers.push(setInterval(refreshHeld, cluster.refreshMs), setInterval(recheckQueued, RECHECK_MS));
		for (const t of clusterTimers) t.unref();
	}
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
	router.get('/:key/id', async (req, res) => {
		if (req.params.key !== key) return void res.status(404).type('text').send('Unknown key');
		// Words and digits a person can read out; drawn again while held or reserved.
		let id = readableId();
		if (cluster) {
			for (let tries = 0; tries < 5; tries++) {
				const reserved = clients.has(id) || (await cluster.reserved(id).catch(() => false));
				if (!reserved) break;
				id = readableId();
			}
		} else {
			while (clients.has(id) || store?.live(id)) id = readableId();
		}
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
		/** What /healthz says: this node, its Redis ('off' on one node), the peers it holds. */
		health() {
			return { node: nodeId, redis: cluster ? cluster.state : 'off', peers: clients.size };
		},
		/**
		 * Stops timers and drops every socket (the store or cluster is closed by its owner). With a
		 * cluster the peers' presence goes first, so other nodes stop sending here at once.
		 */
		async close() {
			clearInterval(expiry);
			clearInterval(alive);
			for (const t of clusterTimers) clearInterval(t);
			server.off('upgrade', onUpgrade);
			const held = [...clients.values()];
			for (const ws of sockets) ws.terminate();
			clients.clear();
			queues.clear();
			if (cluster?.state === 'ready') {
				await Promise.allSettled(
					held.map((c) => (c.claim?.seq !== undefined ? cluster.release(c.id, c.claim.seq, c.tokenHash) : undefined))
				);
			}
		}
	};
}
