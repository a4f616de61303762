/**
 * What counts as an ID to call: the session checks a dial with it, the scanner what it read
 * (a QR code is treated exactly as a pasted link). Kept apart from the session machine so the
 * scanner's code, loaded on demand, does not pull the session's into its chunk.
 */

/** PeerJS's own rule for IDs (util.validateId): letters and digits, single inner spaces,
 * dashes or underscores. */
export const peerIdPattern = /^[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*$/;

/** Why a dial was refused before any call existed; the views translate it. */
export type DialError = 'empty' | 'tooLong' | 'invalid' | 'notConnected' | 'self';

/** What a person pastes into the ID field: an ID, or a share link (any URL with `?call=<id>`),
 * which stands for the ID in it. */
export function dialTarget(raw: string): string {
	const text = raw.trim();
	if (!/^https?:\/\//i.test(text)) return text;
	try {
		return new URL(text).searchParams.get('call')?.trim() || text;
	} catch {
		return text;
	}
}

export function validatePeerId(raw: string): { ok: true; id: string } | { ok: false; reason: DialError } {
	const id = dialTarget(raw);
	if (!id) return { ok: false, reason: 'empty' };
	if (id.length > 64) return { ok: false, reason: 'tooLong' };
	if (!peerIdPattern.test(id)) return { ok: false, reason: 'invalid' };
	return { ok: true, id };
}

