/**
 * The photo offer as it travels in a DataConnection's metadata, and the refusal: the part of
 * the photo protocol that the signaling actor and the session need before (or without) the
 * photo machine, kept small because they are in the first load.
 */
import type { DataConnection } from 'peerjs';
import { closeQuietly } from './connection';

/** What a sender announces in the DataConnection's metadata: `{ photo: PhotoOffer }`. */
export interface PhotoOffer {
	/** The call this photo belongs to: only the current call's peer may send. */
	callId: string;
	name: string;
	size: number;
	type: string;
}

/** What one call's peer may send: per photo (bytes, and pixels once decoded) and per call. A
 * receiver refuses past these and says why; the sender checks the per-photo bytes first. */
export const photoLimits = {
	photoBytes: 15 * 1024 * 1024,
	photoPixels: 50_000_000,
	callPhotos: 20,
	callBytes: 100 * 1024 * 1024
} as const;
const photoTypes = /^image\/(png|jpeg|webp)$/;

/** The offer's shape: a well-formed offer may still be over the limits (the photo machine
 * refuses it with a reason). */
export function isPhotoOffer(value: unknown): value is PhotoOffer {
	const v = value as PhotoOffer | null;
	return (
		!!v &&
		typeof v === 'object' &&
		typeof v.callId === 'string' &&
		typeof v.name === 'string' &&
		v.name.length <= 200 &&
		typeof v.size === 'number' &&
		Number.isInteger(v.size) &&
		v.size > 0 &&
		v.size <= 2 ** 31 &&
		typeof v.type === 'string' &&
		photoTypes.test(v.type)
	);
}

/**
 * Why a receiver turned a photo away, as the sender is told:
 * - `busy`: already receiving or asking about another one;
 * - `declined`: the person declined photos from this peer in this call (or did not answer);
 * - `too-large`: over photoLimits.photoBytes or photoPixels;
 * - `limit`: this call's count or bytes would pass photoLimits;
 * - `invalid`: the offer itself is malformed, or not from the current call;
 * - `not-image`: the bytes are not a JPEG, PNG or WebP that decodes;
 * - `not-saved`: the receiver could not store it.
 */
export type RefuseReason = 'busy' | 'declined' | 'too-large' | 'limit' | 'invalid' | 'not-image' | 'not-saved';
const refuseReasons: readonly string[] = ['busy', 'declined', 'too-large', 'limit', 'invalid', 'not-image', 'not-saved'];

/** The receiver's messages on a photo connection (JSON text): `asking` (the person is being
 * asked to accept photos), `ready` (send the bytes), `refuse` (never sent, or not kept), `done`
 * (every byte arrived and the photo is stored). */
export type Control = { t: 'ready' } | { t: 'asking' } | { t: 'refuse'; why: RefuseReason } | { t: 'done' };

export function parseControl(data: unknown): Control | null {
	if (typeof data !== 'string' || data.length > 200) return null;
	try {
		const msg = JSON.parse(data) as { t?: unknown; why?: unknown } | null;
		if (!msg || typeof msg !== 'object') return null;
		if (msg.t === 'ready' || msg.t === 'asking' || msg.t === 'done') return { t: msg.t };
		// A refusal without a known reason (an older or odd receiver) still ends the send.
		if (msg.t === 'refuse') return { t: 'refuse', why: refuseReasons.includes(msg.why as string) ? (msg.why as RefuseReason) : 'invalid' };
		return null;
	} catch {
		return null;
	}
}

export function closeSoon(conn: DataConnection, ms: number): void {
	setTimeout(() => closeQuietly(conn), ms);
}

/** Tells the sender once its channel is open (now, or when it opens), then lets the connection
 * go a little later so the message can leave; it goes after 10 s in any case (a channel that
 * never opens is not kept; a busy phone can take seconds to open one). */
export function replyPhoto(conn: DataConnection | null | undefined, message: Control): void {
	if (!conn) return;
	const reply = () => {
		try {
			conn.send(JSON.stringify(message));
		} catch {
			/* closing anyway */
		}
		closeSoon(conn, 1000);
	};
	if (conn.open) reply();
	else conn.on('open', reply);
	closeSoon(conn, 10_000);
}

/** Turns an offer away, saying why. */
export function refusePhoto(conn: DataConnection | null | undefined, why: RefuseReason = 'invalid'): void {
	replyPhoto(conn, { t: 'refuse', why });
}
