// Who owns which ID. An ID registered with a token stays reserved for that token for 30 days
// after it was last seen, across restarts and crashes: nobody else can register it, its owner
// always can. Without this, a restart lets the first stranger who asks take a known ID, and
// callers of a shared link reach them instead.
//
// On disk (DATA_DIR/ids.jsonl) it is an append-only log, one JSON record per line, the last
// record for an ID winning; tokens are stored as salted SHA-256 hashes. A reservation is
// acknowledged (the server sends OPEN) only after its line is written and fdatasync'd, so
// `kill -9` at any moment loses nothing that was acknowledged: the worst a crash leaves is a torn
// last line that nobody was told about, which the next start drops. Writes are grouped: every
// reservation made while one write is in flight shares the next one. At every start and when
// the log has grown to several times the live set, it is rewritten (temp file, fsync, rename,
// fsync of the folder), so a crash mid-rewrite leaves the old log whole.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isValidId } from './protocol.js';

export const RESERVATION_TTL_MS = 30 * 24 * 60 * 60 * 1000;
/** A last-seen time is written at most this often per ID (it only needs day precision). */
const TOUCH_PERSIST_MS = 60 * 60 * 1000;
const LOG_NAME = 'ids.jsonl';
const LOCK_NAME = 'ids.lock';

export class StoreError extends Error {}

/**
 * @typedef {object} Entry
 * @property {string} h   salted SHA-256 of the token, hex
 * @property {number} t   last seen, ms since the epoch
 * @property {number} written  the `t` last written to disk
 */

/**
 * @typedef {object} StoreOptions
 * @property {number} [ttlMs]
 * @property {number} [maxEntries]  most reservations held; past it new IDs are refused
 * @property {() => number} [now]
 */

export class ReservationStore {
	/**
	 * @param {{ dir: string | null, salt: string, entries: Map<string, Entry> } & StoreOptions} init
	 */
	constructor({ dir, salt, entries, ttlMs = RESERVATION_TTL_MS, maxEntries = 2_000_000, now = Date.now }) {
		this.dir = dir;
		this.salt = salt;
		this.entries = entries;
		this.ttlMs = ttlMs;
		this.maxEntries = maxEntries;
		this.now = now;
		/** @type {number | null} */
		this.fd = null;
		/** Lines appended since the log was last rewritten. */
		this.appended = 0;
		/** @type {string[]} */
		this.pending = [];
		/** @type {{ resolve: () => void, reject: (e: Error) => void }[]} */
		this.waiters = [];
		/** @type {Promise<void> | null} */
		this.flushing = null;
		this.closed = false;
	}

	/** An in-memory store (nothing survives the process): tests and benchmarks. */
	static memory(/** @type {StoreOptions} */ options = {}) {
		return new ReservationStore({ dir: null, salt: randomBytes(16).toString('hex'), entries: new Map(), ...options });
	}

	/**
	 * Opens (or creates) the store in `dir`. A file that can't be read or doesn't parse is a
	 * StoreError naming the file and line: never silently reset, that would hand every known ID
	 * to the next stranger.
	 * @param {string} dir
	 * @param {StoreOptions} [options]
	 */
	static async open(dir, options = {}) {
		try {
			fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
		} catch (e) {
			throw new StoreError(`Cannot create the data folder ${dir}: ${/** @type {Error} */ (e).message}`);
		}
		takeLock(dir);
		try {
			const file = path.join(dir, LOG_NAME);
			const { salt, entries, torn } = readLog(file);
			if (torn) console.warn(`${file}: dropped a torn last line (a write cut short by a crash; it was never acknowledged)`);
			const store = new ReservationStore({ dir, salt, entries, ...options });
			store.rewrite();
			return store;
		} catch (e) {
			releaseLock(dir);
			throw e;
		}
	}

	get size() {
		return this.entries.size;
	}

	/** @param {string} token */
	hash(token) {
		return createHash('sha256').update(`${this.salt}:${token}`).digest('hex');
	}

	/**
	 * Who may register `id` with `token`.
	 * @param {string} id @param {string} token
	 * @returns {'free' | 'owner' | 'taken'}
	 */
	check(id, token) {
		const entry = this.live(id);
		if (!entry) return 'free';
		return sameHash(entry.h, this.hash(token)) ? 'owner' : 'taken';
	}

	/** @param {string} id */
	live(id) {
		const entry = this.entries.get(id);
		if (!entry) return null;
		if (this.now() - entry.t > this.ttlMs) {
			this.entries.delete(id);
			return null;
		}
		return entry;
	}

	/** True when no new ID can be reserved. */
	full() {
		return this.entries.size >= this.maxEntries;
	}

	/**
	 * Reserves a free `id` for `token`. Takes effect at once in memory (a second claim sees it);
	 * resolves once it is durable on disk.
	 * @param {string} id @param {string} token
	 * @returns {Promise<void>}
	 */
	reserve(id, token) {
		const t = this.now();
		const entry = { h: this.hash(token), t, written: t };
		this.entries.set(id, entry);
		return this.append(record(id, entry), true);
	}

	/** Notes that `id`'s owner was seen now; written lazily (last-seen needs day precision). @param {string} id */
	touch(id) {
		const entry = this.entries.get(id);
		if (!entry) return;
		entry.t = this.now();
		if (entry.t - entry.written >= TOUCH_PERSIST_MS) {
			entry.written = entry.t;
			void this.append(record(id, entry), false).catch(() => {});
		}
	}

	/**
	 * @param {string} line
	 * @param {boolean} wait  true: the promise settles once the line is on disk
	 * @returns {Promise<void>}
	 */
	append(line, wait) {
		if (this.dir === null) return Promise.resolve();
		if (this.closed) return Promise.reject(new StoreError('store closed'));
		this.pending.push(line);
		const done = wait
			? new Promise((resolve, reject) => this.waiters.push({ resolve: () => resolve(undefined), reject }))
			: Promise.resolve();
		this.flushing ??= this.flush();
		return /** @type {Promise<void>} */ (done);
	}

	/** Writes what is pending, one fdatasync for the lot, until nothing is. */
	async flush() {
		// Let every claim made in this turn of the event loop join the first write.
		await new Promise((resolve) => setImmediate(resolve));
		try {
			while (this.pending.length > 0) {
				const lines = this.pending.splice(0);
				const waiters = this.waiters.splice(0);
				try {
					if (this.appended > 10_000 && this.appended > 2 * this.entries.size) this.rewrite();
					const fd = /** @type {number} */ (this.fd);
					await writeAll(fd, Buffer.from(lines.join('')));
					await new Promise((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve(undefined))));
					this.appended += lines.length;
					for (const w of waiters) w.resolve();
				} catch (e) {
					const error = new StoreError(`Could not write ${LOG_NAME}: ${/** @type {Error} */ (e).message}`);
					console.error(error.message);
					for (const w of waiters) w.reject(error);
				}
			}
		} finally {
			this.flushing = null;
		}
	}

	/** Rewrites the log as header + one line per live reservation, atomically. */
	rewrite() {
		if (this.dir === null) return;
		const file = path.join(this.dir, LOG_NAME);
		const tmp = `${file}.tmp`;
		const now = this.now();
		const lines = [JSON.stringify({ camcall: 'ids', v: 1, salt: this.salt }) + '\n'];
		for (const [id, entry] of this.entries) {
			if (now - entry.t > this.ttlMs) this.entries.delete(id);
			else {
				entry.written = entry.t;
				lines.push(record(id, entry));
			}
		}
		const fd = fs.openSync(tmp, 'w', 0o600);
		try {
			fs.writeSync(fd, lines.join(''));
			fs.fsyncSync(fd);
		} finally {
			fs.closeSync(fd);
		}
		fs.renameSync(tmp, file);
		syncDir(this.dir);
		if (this.fd !== null) fs.closeSync(this.fd);
		this.fd = fs.openSync(file, 'a', 0o600);
		this.appended = 0;
	}

	/** Writes what is pending and lets go of the folder. */
	async close() {
		if (this.closed) return;
		while (this.flushing) await this.flushing;
		this.closed = true;
		if (this.fd !== null) fs.closeSync(this.fd);
		this.fd = null;
		if (this.dir !== null) releaseLock(this.dir);
	}
}

/** @param {string} id @param {Entry} entry */
function record(id, entry) {
	return JSON.stringify({ id, h: entry.h, t: entry.t }) + '\n';
}

/** @param {string} a @param {string} b */
function sameHash(a, b) {
	const x = Buffer.from(a, 'hex');
	const y = Buffer.from(b, 'hex');
	return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * @param {string} file
 * @returns {{ salt: string, entries: Map<string, Entry>, torn: boolean }}
 */
function readLog(file) {
	/** @type {string} */
	let text;
	try {
		text = fs.readFileSync(file, 'utf8');
	} catch (e) {
		if (/** @type {NodeJS.ErrnoException} */ (e).code === 'ENOENT') {
			return { salt: randomBytes(16).toString('hex'), entries: new Map(), torn: false };
		}
		throw new StoreError(`Cannot read ${file}: ${/** @type {Error} */ (e).message}`);
	}
	const lines = text.split('\n');
	// The text after the last newline is a line whose write never finished (or nothing).
	const tail = lines.pop() ?? '';
	const bad = (/** @type {number} */ n, /** @type {string} */ why) =>
		new StoreError(`${file}, line ${n}: ${why}. The server will not start with an ID store it cannot read (it would hand known IDs to strangers): restore the file, or move it away to start with no reservations.`);
	if (lines.length === 0) {
		if (tail === '') return { salt: randomBytes(16).toString('hex'), entries: new Map(), torn: false };
		throw bad(1, 'no header');
	}
	let header;
	try {
		header = JSON.parse(lines[0]);
	} catch {
		throw bad(1, 'the header is not JSON');
	}
	if (header?.camcall !== 'ids' || header.v !== 1 || typeof header.salt !== 'string' || !/^[0-9a-f]{32}$/.test(header.salt)) {
		throw bad(1, 'not a CamCall ID store (version 1)');
	}
	/** @type {Map<string, Entry>} */
	const entries = new Map();
	for (let i = 1; i < lines.length; i++) {
		/** @type {any} */
		let r;
		try {
			r = JSON.parse(lines[i]);
		} catch {
			throw bad(i + 1, 'not JSON');
		}
		if (!r || !isValidId(r.id) || typeof r.h !== 'string' || !/^[0-9a-f]{64}$/.test(r.h) || !Number.isFinite(r.t)) {
			throw bad(i + 1, 'not a reservation record');
		}
		entries.set(r.id, { h: r.h, t: r.t, written: r.t });
	}
	return { salt: header.salt, entries, torn: tail !== '' };
}

/** @param {number} fd @param {Buffer} buffer */
async function writeAll(fd, buffer) {
	let offset = 0;
	while (offset < buffer.length) {
		const written = await new Promise((resolve, reject) =>
			fs.write(fd, buffer, offset, buffer.length - offset, null, (e, n) => (e ? reject(e) : resolve(n)))
		);
		offset += /** @type {number} */ (written);
	}
}

/** @param {string} dir */
function syncDir(dir) {
	const fd = fs.openSync(dir, 'r');
	try {
		fs.fsyncSync(fd);
	} finally {
		fs.closeSync(fd);
	}
}

/** One process per data folder: two writers would interleave their logs. @param {string} dir */
function takeLock(dir) {
	const lock = path.join(dir, LOCK_NAME);
	for (let attempt = 0; attempt < 2; attempt++) {
		try {
			fs.writeFileSync(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
			return;
		} catch (e) {
			if (/** @type {NodeJS.ErrnoException} */ (e).code !== 'EEXIST') {
				throw new StoreError(`Cannot lock the data folder ${dir}: ${/** @type {Error} */ (e).message}`);
			}
		}
		const pid = Number(fs.readFileSync(lock, 'utf8'));
		if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
			throw new StoreError(`The data folder ${dir} is in use by process ${pid}${pid === process.pid ? ' (this one)' : ''}: one server per DATA_DIR.`);
		}
		fs.rmSync(lock, { force: true }); // left by a process that died
	}
	throw new StoreError(`Cannot lock the data folder ${dir}`);
}

/** @param {number} pid */
function isAlive(pid) {
	try {
		process.kill(pid, 0);
		return true;
	} catch (e) {
		return /** @type {NodeJS.ErrnoException} */ (e).code === 'EPERM';
	}
}

/** @param {string} dir */
function releaseLock(dir) {
	const lock = path.join(dir, LOCK_NAME);
	try {
		if (fs.readFileSync(lock, 'utf8') === String(process.pid)) fs.rmSync(lock, { force: true });
	} catch {
		/* already gone */
	}
}
