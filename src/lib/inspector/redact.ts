/**
 * Secrets never reach /inspect. Everything the inspector shows or exports (each event's payload
 * and the context after it) passes through InspectionLog.record, which runs it through one
 * Redactor. Two secrets pass through the machines today: the stable ID's `token` (whoever holds
 * it owns the ID) and the ICE servers' `username` / `credential` (TURN credentials from the
 * server's ICE_SERVERS). Plain TypeScript: no DOM, unit-tested under Node.
 */

export const REDACTED = '[redacted]';

/** Keys whose values are secret wherever they appear, at any depth: `token`, `authToken`,
 * `credential(s)`, `username`, `password`, `secret`, `authorization`. Matched loosely on purpose:
 * a name that only looks like a secret loses its value in the log, which costs nothing. */
const SECRET_KEY = /token|credential|username|password|passwd|secret|authorization/i;

/** A secret carried in a URL's query (PeerJS puts the token in its WebSocket URL). */
const SECRET_PARAM = /([?&;](?:token|credential|username|password|secret)=)[^&#\s"']*/gi;

/** Shorter strings are not remembered as secrets: scrubbing them would mangle ordinary text. */
const MIN_SECRET_LENGTH = 6;

const isRecord = (value: unknown): value is Record<string, unknown> =>
	!!value && typeof value === 'object' && !Array.isArray(value);

export function isSecretKey(key: string): boolean {
	return SECRET_KEY.test(key);
}

/**
 * Replaces secrets in plain data (what `toPlain` makes: objects, arrays, strings, numbers).
 * - The value under a secret key becomes `[redacted]`, whatever its type (a nested object or a
 *   list of credentials goes whole).
 * - Every string secret it has seen that way is remembered, and later found inside any other
 *   string (an error message or URL that quotes the token) is replaced too, for the life of the
 *   redactor: an event's payload may quote the token before the context names it.
 * - `token=…` in a URL query is replaced.
 */
export class Redactor {
	#secrets = new Set<string>();

	/** Remembers string secrets found under secret keys in `value` (without changing it). */
	learn(value: unknown, depth = 0): void {
		if (depth > 32) return;
		if (Array.isArray(value)) {
			for (const item of value) this.learn(item, depth + 1);
		} else if (isRecord(value)) {
			for (const [key, child] of Object.entries(value)) {
				if (isSecretKey(key)) this.#remember(child, depth + 1);
				else this.learn(child, depth + 1);
			}
		}
	}

	#remember(value: unknown, depth: number): void {
		if (depth > 32) return;
		if (typeof value === 'string') {
			if (value.length >= MIN_SECRET_LENGTH && value !== REDACTED) this.#secrets.add(value);
		} else if (Array.isArray(value)) {
			for (const item of value) this.#remember(item, depth + 1);
		} else if (isRecord(value)) {
			for (const child of Object.values(value)) this.#remember(child, depth + 1);
		}
	}

	/** `value` with every secret replaced; the input is not changed. */
	redact<T>(value: T): T {
		this.learn(value);
		return this.#scrub(value, 0) as T;
	}

	#scrub(value: unknown, depth: number): unknown {
		if (typeof value === 'string') return this.scrubText(value);
		if (depth > 32) return '[Object]';
		if (Array.isArray(value)) return value.map((item) => this.#scrub(item, depth + 1));
		if (isRecord(value)) {
			const out: Record<string, unknown> = {};
			for (const [key, child] of Object.entries(value)) {
				// defineProperty: a key named `__proto__` stays a plain key.
				Object.defineProperty(out, key, {
					value: isSecretKey(key) ? REDACTED : this.#scrub(child, depth + 1),
					enumerable: true,
					writable: true,
					configurable: true
				});
			}
			return out;
		}
		return value;
	}

	/** A string with known secrets and URL-query secrets replaced. */
	scrubText(text: string): string {
		let out = text.replace(SECRET_PARAM, `$1${REDACTED}`);
		for (const secret of this.#secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
		return out;
	}
}
