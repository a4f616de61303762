/**
 * Safety codes the person marked as verified, by the contact's peer ID (localStorage, like the
 * contacts in profile.ts, and read back as untrusted the same way). Loaded when a call starts.
 */
import { fromCallback } from 'xstate';

const KEY = 'camcall.verified';
/** Codes kept at most (the newest win). */
export const maxVerified = 500;
const idPattern = /^[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*$/;
export const codePattern = /^\d{4} \d{4} \d{4}$/;

function storage(): Storage | null {
	try {
		return typeof localStorage === 'undefined' ? null : localStorage;
	} catch {
		return null;
	}
}

/** Every stored code that passes the checks, by peer ID. */
export function readVerified(): Record<string, string> {
	const out: Record<string, string> = Object.create(null);
	let map: unknown;
	try {
		map = JSON.parse(storage()?.getItem(KEY) ?? 'null');
	} catch {
		return out;
	}
	if (!map || typeof map !== 'object' || Array.isArray(map)) return out;
	for (const [id, code] of Object.entries(map as Record<string, unknown>).slice(-maxVerified)) {
		if (id.length <= 64 && idPattern.test(id) && typeof code === 'string' && codePattern.test(code)) out[id] = code;
	}
	return out;
}

/** The code verified with this peer, or null. */
export function verifiedCode(peerId: string): string | null {
	const all = readVerified();
	return Object.prototype.hasOwnProperty.call(all, peerId) ? all[peerId] : null;
}

/** Saves (or, with null, forgets) the code verified with this peer. */
export function saveVerified(peerId: string, code: string | null): void {
	if (!idPattern.test(peerId) || peerId.length > 64 || (code !== null && !codePattern.test(code))) return;
	const all = readVerified();
	delete all[peerId];
	if (code) all[peerId] = code;
	try {
		storage()?.setItem(KEY, JSON.stringify(Object.fromEntries(Object.entries(all).slice(-maxVerified))));
	} catch {
		/* storage full or blocked: verified for this call only */
	}
}

/** Reads the contact's verified code at start (`safety.saved { code }`, at once), and saves
 * what it is told (`safety.store { code }`). */
export const verifiedStore = fromCallback<{ type: 'safety.store'; code: string | null }, { remoteId: string }>(
	({ input, sendBack, receive }) => {
		sendBack({ type: 'safety.saved', code: verifiedCode(input.remoteId) });
		receive((e) => saveVerified(input.remoteId, e.code));
	}
);
