// Token buckets keyed by remote address: one abuser runs dry, everyone else keeps going.
// Sized so that a carrier NAT (hundreds of phones behind one IPv4 address) stays well inside
// them: a PeerJS client sends a heartbeat every 5 s and a few dozen messages per call set-up.

import fs from 'node:fs';

/**
 * @typedef {object} BucketRule
 * @property {number} burst   tokens a fresh key starts with (and can hold at most)
 * @property {number} perSecond  refill rate
 */

/** The default rules. Per address unless the name says otherwise. */
export const RULES = {
	/** WebSocket registrations (upgrade requests to /peerjs/peerjs). */
	registrations: { burst: 60, perSecond: 2 },
	/** Plain HTTP requests under /peerjs (e.g. GET /peerjs/peerjs/id). */
	http: { burst: 60, perSecond: 2 },
	/** Messages from all sockets of one address. */
	messages: { burst: 4000, perSecond: 1000 },
	/** Messages from one socket: a heartbeat each 5 s, a call set-up is ~20–40 messages. */
	socketMessages: { burst: 300, perSecond: 30 }
};

/** Most sockets one address may hold at once. */
export const MAX_SOCKETS_PER_ADDRESS = 1000;

export class TokenBucket {
	/** @param {BucketRule} rule @param {number} now */
	constructor(rule, now) {
		this.rule = rule;
		this.tokens = rule.burst;
		this.at = now;
	}

	/** Takes one token if there is one. @param {number} now */
	take(now) {
		const { burst, perSecond } = this.rule;
		this.tokens = Math.min(burst, this.tokens + ((now - this.at) / 1000) * perSecond);
		this.at = now;
		if (this.tokens < 1) return false;
		this.tokens -= 1;
		return true;
	}

	/** True once the bucket has refilled completely: forgetting it changes nothing. @param {number} now */
	full(now) {
		return this.tokens + ((now - this.at) / 1000) * this.rule.perSecond >= this.rule.burst;
	}
}

/** A bucket per key, with a bound on how many keys are remembered. */
export class KeyedLimiter {
	/**
	 * @param {BucketRule} rule
	 * @param {{ enabled?: boolean, maxKeys?: number, now?: () => number }} [options]
	 */
	constructor(rule, { enabled = true, maxKeys = 100_000, now = Date.now } = {}) {
		this.rule = rule;
		this.enabled = enabled;
		this.maxKeys = maxKeys;
		this.now = now;
		/** @type {Map<string, TokenBucket>} */
		this.buckets = new Map();
	}

	/** @param {string} key @returns {boolean} false: over the limit */
	take(key) {
		if (!this.enabled) return true;
		const now = this.now();
		let bucket = this.buckets.get(key);
		if (!bucket) {
			if (this.buckets.size >= this.maxKeys) this.sweep();
			// Still full of busy keys: forget the oldest rather than grow without bound.
			if (this.buckets.size >= this.maxKeys) {
				const oldest = this.buckets.keys().next().value;
				if (oldest !== undefined) this.buckets.delete(oldest);
			}
			bucket = new TokenBucket(this.rule, now);
			this.buckets.set(key, bucket);
		}
		return bucket.take(now);
	}

	/** Forgets keys whose buckets have refilled. */
	sweep() {
		const now = this.now();
		for (const [key, bucket] of this.buckets) if (bucket.full(now)) this.buckets.delete(key);
	}
}

/**
 * The key an address is limited under: an IPv4 address as is, an IPv6 address by its /64 (one
 * subscriber gets a whole /64, so per-address limits on single IPv6 addresses limit nothing).
 * @param {string} address
 */
export function addressKey(address) {
	const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
	if (v4) return v4[1];
	if (!address.includes(':')) return address;
	const [head, tail = ''] = address.split('::');
	const left = head ? head.split(':') : [];
	const right = tail ? tail.split(':') : [];
	const groups = address.includes('::') ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
	return groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':') + '::/64';
}

/**
 * The remote address of a request: the socket's, or behind a trusted reverse proxy the last
 * address in X-Forwarded-For (the one our proxy appended; earlier entries are the client's say).
 * @param {import('node:http').IncomingMessage} req
 * @param {boolean} trustProxy
 */
export function remoteAddress(req, trustProxy) {
	if (trustProxy) {
		const header = req.headers['x-forwarded-for'];
		const list = (Array.isArray(header) ? header.join(',') : header ?? '').split(',').map((s) => s.trim()).filter(Boolean);
		const last = list.at(-1);
		if (last) return last;
	}
	return req.socket.remoteAddress ?? 'unknown';
}

/** Peers one node held within the latency target on the project's machine (`npm run load`,
 * README "Running it for real"); past it the next registration gets the stock "concurrent user
 * limit" ERROR instead of a slow node for everyone. MAX_PEERS overrides it. */
export const MEASURED_CAPACITY = 20_000;

/**
 * The default peer cap: the measured capacity, or fewer when this process may not open that many
 * files (every peer is a socket; a few hundred are kept for the app's own files and HTTP).
 */
export function defaultMaxPeers() {
	let files = Infinity;
	try {
		const limits = fs.readFileSync('/proc/self/limits', 'utf8');
		const soft = /Max open files\s+(\d+|unlimited)/.exec(limits)?.[1];
		if (soft && soft !== 'unlimited') files = Number(soft);
	} catch {
		/* not Linux: trust the measured figure */
	}
	return Math.max(1, Math.min(MEASURED_CAPACITY, files - 300));
}
