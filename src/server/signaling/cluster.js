// Several signaling nodes sharing one Redis (env REDIS_URL): who holds which peer (presence),
// who owns which ID (the reservations of reservations.js, here in Redis), and a pub/sub channel
// per node to carry a message to the node holding its receiver. Without this a caller and a
// callee on different processes can never find each other.
//
// Keys (one Redis, one deployment per database):
//   camcall:salt         the token-hash salt every node uses (set once, by the first node)
//   camcall:seq          a counter: each claim of an ID gets the next number
//   camcall:id:<id>      reservation: hash { h: salted SHA-256 of the token, t: last seen },
//                        expires 30 days after its owner was last seen
//   camcall:on:<id>      presence: "<node>|<seq>", expires PRESENCE_TTL_MS after the holding
//                        node last refreshed it (every REFRESH_MS while the socket is open)
//   camcall:node:<node>  the channel that node listens on
//
// Claims are one Lua script (atomic): a stranger's claim of a reserved ID is refused, an owner's
// claim takes the presence over and tells the previous node (by its channel) to close its
// socket. A node that dies stops refreshing: its peers' presence expires, their reservations
// stay. Everything read back from Redis is checked like anything from the network: another
// node, or whoever else can write to that Redis, may send anything.
import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import { Redis } from 'ioredis';
import { isValidId } from './protocol.js';
import { RESERVATION_TTL_MS } from './reservations.js';

/** A peer's presence outlives its node's last refresh by this much (three PeerJS heartbeats). */
export const PRESENCE_TTL_MS = 15_000;
/** How often a node re-records the presence (and reservation) of every peer it holds. */
export const REFRESH_MS = 5_000;
/** Reconnect backoff after Redis is lost: 250 ms doubling, capped, with jitter. */
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 8_000;

const PREFIX = 'camcall:';
const NODE_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;
/** Ids per refresh script call: keeps each call short (Redis runs scripts one at a time). */
const REFRESH_CHUNK = 500;

const CLAIM = `
local h = redis.call('HGET', KEYS[1], 'h')
if h and h ~= ARGV[1] then return {'taken', 0, ''} end
redis.call('HSET', KEYS[1], 'h', ARGV[1], 't', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local seq = redis.call('INCR', KEYS[3])
local prev = redis.call('GET', KEYS[2])
redis.call('SET', KEYS[2], ARGV[4] .. '|' .. seq, 'PX', ARGV[5])
if h then return {'owner', seq, prev or ''} end
return {'free', seq, prev or ''}
`;

// Presence goes only if it is still ours (an owner may have taken the ID to another node).
const RELEASE = `
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
if redis.call('HGET', KEYS[1], 'h') == ARGV[2] then
  redis.call('HSET', KEYS[1], 't', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return 1
`;

// For each held peer: presence and reservation re-recorded (also after Redis lost its data),
// unless someone else holds either now: then that index comes back as lost.
const REFRESH = `
local lost = {}
for i = 1, #KEYS / 2 do
  local idk, pk = KEYS[2 * i - 1], KEYS[2 * i]
  local value, hash = ARGV[2 * i + 2], ARGV[2 * i + 3]
  local h = redis.call('HGET', idk, 'h')
  local p = redis.call('GET', pk)
  if (h and h ~= hash) or (p and p ~= value) then
    lost[#lost + 1] = i
  else
    if not h then redis.call('HSET', idk, 'h', hash, 't', ARGV[1]) end
    redis.call('PEXPIRE', idk, ARGV[2])
    redis.call('SET', pk, value, 'PX', ARGV[3])
  end
end
return lost
`;

// A presence whose node no longer listens (PUBLISH reached nobody) goes, if it is unchanged.
const DROP_IF = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Who holds a peer, as read from Redis: checked, never trusted. */
/** @typedef {{ node: string, seq: number }} Presence */

/** @param {unknown} value @returns {Presence | null} */
export function parsePresence(value) {
	if (typeof value !== 'string' || value.length > 140) return null;
	const bar = value.lastIndexOf('|');
	const node = value.slice(0, bar);
	const seq = Number(value.slice(bar + 1));
	if (bar < 1 || !NODE_PATTERN.test(node) || !Number.isSafeInteger(seq) || seq < 1) return null;
	return { node, seq };
}

/** The URL with any password hidden, for logs and errors. @param {string} url */
export function redactUrl(url) {
	try {
		const u = new URL(url);
		if (u.password) u.password = '***';
		return u.toString();
	} catch {
		return '(an unparsable REDIS_URL)';
	}
}

/** A name for this process in Redis, logs and /healthz: host, pid and a random part. */
export function newNodeId() {
	const host = os.hostname().replace(/[^A-Za-z0-9.-]/g, '').slice(0, 40) || 'node';
	return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** @param {number} attempt */
export function backoff(attempt) {
	const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(attempt, 10));
	return Math.round(base * (0.75 + Math.random() * 0.5));
}

/**
 * @typedef {'ready' | 'reconnecting' | 'closed'} RedisState
 * @typedef {(text: string) => void} Log
 */

/**
 * Connects to Redis and subscribes to this node's channel. Rejects with a clear message when
 * Redis cannot be reached (the caller exits): a node that silently ran alone would split the
 * deployment in two.
 * @param {string} url
 * @param {{ nodeId?: string, log?: Log, presenceTtlMs?: number, refreshMs?: number, connectTimeoutMs?: number }} [options]
 */
export async function openCluster(url, options = {}) {
	const nodeId = options.nodeId ?? newNodeId();
	const log = options.log ?? ((text) => console.log(text));
	const presenceTtlMs = options.presenceTtlMs ?? PRESENCE_TTL_MS;
	const refreshMs = options.refreshMs ?? REFRESH_MS;
	const shown = redactUrl(url);
	let started = false;
	/** @type {string} */
	let lastError = '';
	/** @type {import('ioredis').RedisOptions} */
	const redisOptions = {
		lazyConnect: true,
		// A command while Redis is away fails at once (a registration is refused) instead of
		// queueing without bound; one that hangs (a stalled Redis) fails after 2 s.
		enableOfflineQueue: false,
		commandTimeout: 2000,
		maxRetriesPerRequest: 0,
		connectTimeout: options.connectTimeoutMs ?? 3000,
		retryStrategy: (attempt) => (started ? backoff(attempt) : null)
	};
	const main = new Redis(url, redisOptions);
	const sub = new Redis(url, { ...redisOptions, autoResubscribe: true });
	for (const r of [main, sub]) r.on('error', (/** @type {Error} */ e) => (lastError = e.message));
	try {
		await Promise.all([main.connect(), sub.connect()]);
	} catch (e) {
		main.disconnect();
		sub.disconnect();
		throw new Error(`Cannot reach Redis at ${shown} (REDIS_URL): ${lastError || /** @type {Error} */ (e).message}`);
	}
	for (const [name, script, keys] of /** @type {const} */ ([
		['camcallClaim', CLAIM, 3],
		['camcallRelease', RELEASE, 2],
		['camcallDropIf', DROP_IF, 1]
	])) {
		main.defineCommand(name, { numberOfKeys: keys, lua: script });
	}
	main.defineCommand('camcallRefresh', { lua: REFRESH });

	// The salt every node hashes tokens with: the first node makes it, the others adopt it.
	const proposed = randomBytes(16).toString('hex');
	await main.set(`${PREFIX}salt`, proposed, 'NX');
	const salt = await main.get(`${PREFIX}salt`);
	if (typeof salt !== 'string' || !/^[0-9a-f]{32}$/.test(salt)) {
		main.disconnect();
		sub.disconnect();
		throw new Error(`Redis at ${shown} holds a ${PREFIX}salt that is not CamCall's: is this database used by something else?`);
	}
	const channel = `${PREFIX}node:${nodeId}`;
	await sub.subscribe(channel);
	started = true;

	/** @type {RedisState} */
	let state = 'ready';
	let lostAt = 0;
	/** @type {Set<(state: RedisState) => void>} */
	const stateListeners = new Set();
	/** @type {(message: Buffer) => void} */
	let onMessage = () => {};

	const setState = (/** @type {RedisState} */ next) => {
		if (next === state) return;
		state = next;
		for (const f of stateListeners) f(next);
	};
	// Ready means both connections are: without the subscriber this node can't be reached.
	const update = () => {
		if (state === 'closed') return;
		const ready = main.status === 'ready' && sub.status === 'ready';
		if (!ready && state === 'ready') {
			lostAt = Date.now();
			log(`Redis lost (${lastError || 'connection closed'}): serving this node's peers only, refusing new registrations; reconnecting with backoff`);
			setState('reconnecting');
		} else if (ready && state !== 'ready') {
			// Redis may have restarted empty: the salt goes back first, as it was.
			void main.set(`${PREFIX}salt`, salt, 'NX').catch(() => {});
			log(`Redis back after ${((Date.now() - lostAt) / 1000).toFixed(1)} s`);
			setState('ready');
		}
	};
	for (const r of [main, sub]) {
		r.on('ready', update);
		r.on('close', update);
		r.on('end', update);
	}
	sub.on('messageBuffer', (/** @type {Buffer} */ ch, /** @type {Buffer} */ message) => {
		if (ch.toString() !== channel) return;
		onMessage(message);
	});

	const idKey = (/** @type {string} */ id) => `${PREFIX}id:${id}`;
	const onKey = (/** @type {string} */ id) => `${PREFIX}on:${id}`;
	const commands = /** @type {any} */ (main);

	return {
		nodeId,
		presenceTtlMs,
		refreshMs,
		get state() {
			return state;
		},
		/** @param {(state: RedisState) => void} f */
		onState(f) {
			stateListeners.add(f);
		},
		/** @param {(message: Buffer) => void} f */
		onMessage(f) {
			onMessage = f;
		},
		/** @param {string} token */
		hash(token) {
			return createHash('sha256').update(`${salt}:${token}`).digest('hex');
		},
		/**
		 * Claims `id` for this node: refused if another token owns it.
		 * @param {string} id @param {string} tokenHash
		 * @returns {Promise<{ result: 'taken' } | { result: 'free' | 'owner', seq: number, prev: Presence | null }>}
		 */
		async claim(id, tokenHash) {
			const reply = await commands.camcallClaim(idKey(id), onKey(id), `${PREFIX}seq`, tokenHash, Date.now(), RESERVATION_TTL_MS, nodeId, presenceTtlMs);
			const [result, seq, prev] = Array.isArray(reply) ? reply : [];
			if (result === 'taken') return { result };
			if ((result !== 'free' && result !== 'owner') || !Number.isSafeInteger(seq)) throw new Error('unexpected claim reply');
			return { result, seq, prev: parsePresence(prev) };
		},
		/** The socket holding `id` closed: presence goes (if still ours), last seen is noted. */
		/** @param {string} id @param {number} seq @param {string} tokenHash */
		async release(id, seq, tokenHash) {
			await commands.camcallRelease(idKey(id), onKey(id), `${nodeId}|${seq}`, tokenHash, Date.now(), RESERVATION_TTL_MS);
		},
		/**
		 * Re-records every held peer; returns the IDs someone else now holds (they were taken over
		 * while this node could not hear of it).
		 * @param {{ id: string, seq: number, tokenHash: string }[]} held
		 * @returns {Promise<string[]>}
		 */
		async refresh(held) {
			/** @type {string[]} */
			const lost = [];
			for (let i = 0; i < held.length; i += REFRESH_CHUNK) {
				const chunk = held.slice(i, i + REFRESH_CHUNK);
				const keys = chunk.flatMap((c) => [idKey(c.id), onKey(c.id)]);
				const args = [Date.now(), RESERVATION_TTL_MS, presenceTtlMs, ...chunk.flatMap((c) => [`${nodeId}|${c.seq}`, c.tokenHash])];
				const reply = await commands.camcallRefresh(keys.length, ...keys, ...args);
				for (const n of Array.isArray(reply) ? reply : []) if (Number.isInteger(n) && chunk[n - 1]) lost.push(chunk[n - 1].id);
			}
			return lost;
		},
		/** Where each ID is held now (null: nowhere, or not readable). @param {string[]} ids */
		async locate(ids) {
			if (ids.length === 0) return [];
			const values = await main.mget(ids.map(onKey));
			return values.map(parsePresence);
		},
		/** True if `id` is reserved by anyone. @param {string} id */
		async reserved(id) {
			return (await main.exists(idKey(id))) === 1;
		},
		/**
		 * Sends one message to a node's channel; resolves to how many listened (0: that node is gone).
		 * @param {string} node @param {string} message
		 */
		async publish(node, message) {
			return main.publish(`${PREFIX}node:${node}`, message);
		},
		/** A presence whose node is gone: dropped unless it changed meanwhile. @param {string} id @param {Presence} presence */
		async dropStale(id, presence) {
			await commands.camcallDropIf(onKey(id), `${presence.node}|${presence.seq}`);
		},
		/** Stops listening and disconnects (the caller releases its peers first). */
		async close() {
			if (state === 'closed') return;
			setState('closed');
			await Promise.allSettled([main.quit(), sub.quit()]);
			main.disconnect();
			sub.disconnect();
		}
	};
}

/** @typedef {Awaited<ReturnType<typeof openCluster>>} Cluster */
