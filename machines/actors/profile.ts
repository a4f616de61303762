/**
 * What this device remembers about people: your display name, recent calls, and contacts
 * (a nickname per peer ID). localStorage, so it survives reloads and works offline; every read
 * is checked as if a stranger had written it (another tab, an older version, a user's devtools).
 */

/** Display names and nicknames: at most this many characters (code points). */
export const maxNameChars = 40;
/** Recent calls kept, newest first. */
export const maxRecents = 50;

const NAME_KEY = 'camcall.name';
const RECENTS_KEY = 'camcall.recents';
const CONTACTS_KEY = 'camcall.contacts';

// Control characters, bidirectional overrides and isolates (they can make a name display as
// another), line and paragraph separators.
// eslint-disable-next-line no-control-regex
const unsafe = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;

/** A name as it may be shown: text only, no control or direction characters, single spaces,
 * at most maxNameChars; '' when nothing is left (or it was not a string). */
export function cleanName(raw: unknown): string {
	if (typeof raw !== 'string') return '';
	const text = raw.slice(0, 400).replace(unsafe, '').replace(/\s+/g, ' ').trim();
	return Array.from(text).slice(0, maxNameChars).join('').trim();
}

/** How a call went, for the list: answered (with a duration), missed, declined, … */
export type RecentOutcome = 'answered' | 'missed' | 'declined' | 'no-answer' | 'busy' | 'cancelled' | 'failed';

export interface Recent {
	/** The far side's peer ID: what "Call back" dials. */
	peerId: string;
	/** The name the far side gave (its display name), '' if none. */
	name: string;
	direction: 'in' | 'out';
	/** When the call started (ms since epoch). */
	at: number;
	/** Seconds connected; null when it never connected. */
	seconds: number | null;
	outcome: RecentOutcome;
}

function storage(): Storage | null {
	try {
		return typeof localStorage === 'undefined' ? null : localStorage;
	} catch {
		return null;
	}
}

function readText(key: string): string | null {
	try {
		return storage()?.getItem(key) ?? null;
	} catch {
		return null; // blocked (private mode, policy)
	}
}

function readJson(key: string): unknown {
	try {
		return JSON.parse(readText(key) ?? 'null');
	} catch {
		return null;
	}
}

function write(key: string, value: unknown): void {
	try {
		storage()?.setItem(key, JSON.stringify(value));
	} catch {
		/* storage full or blocked: the list lives on in memory for this session */
	}
}

const outcomes: readonly string[] = ['answered', 'missed', 'declined', 'no-answer', 'busy', 'cancelled', 'failed'];
const idPattern = /^[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*$/;

function isRecent(v: unknown): v is Recent {
	const r = v as Recent | null;
	return (
		!!r &&
		typeof r === 'object' &&
		typeof r.peerId === 'string' &&
		r.peerId.length <= 64 &&
		idPattern.test(r.peerId) &&
		typeof r.name === 'string' &&
		(r.direction === 'in' || r.direction === 'out') &&
		Number.isFinite(r.at) &&
		(r.seconds === null || (Number.isFinite(r.seconds) && r.seconds >= 0)) &&
		outcomes.includes(r.outcome)
	);
}

export function readName(): string {
	return cleanName(readText(NAME_KEY) ?? '');
}

export function saveName(name: string): void {
	try {
		storage()?.setItem(NAME_KEY, cleanName(name));
	} catch {
		/* kept for this session only */
	}
}

export function readRecents(): Recent[] {
	const list = readJson(RECENTS_KEY);
	return Array.isArray(list)
		? list
				.filter(isRecent)
				.map((r) => ({ ...r, name: cleanName(r.name) }))
				.slice(0, maxRecents)
		: [];
}

export function saveRecents(list: Recent[]): void {
	write(RECENTS_KEY, list.slice(0, maxRecents));
}

export function readContacts(): Record<string, string> {
	const map = readJson(CONTACTS_KEY);
	const out: Record<string, string> = {};
	if (!map || typeof map !== 'object' || Array.isArray(map)) return out;
	for (const [id, nickname] of Object.entries(map as Record<string, unknown>).slice(0, 500)) {
		const clean = cleanName(nickname);
		if (idPattern.test(id) && id.length <= 64 && clean) out[id] = clean;
	}
	return out;
}

export function saveContacts(contacts: Record<string, string>): void {
	write(CONTACTS_KEY, contacts);
}
