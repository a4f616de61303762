/**
 * The photo offer as it travels in a DataConnection's metadata, and the refusal: the part of
 * the photo protocol that the signaling actor and the session need before (or without) the
 * photo machine, kept small because they are in the first load.
 */
import type { DataConnection } from 'peerjs';

/** What a sender announces in the DataConnection's metadata: `{ photo: PhotoOffer }`. */
export interface PhotoOffer {
	/** The call this photo belongs to: only the current call's peer may send. */
	callId: string;
	name: string;
	size: number;
	type: string;
}

/** A receiver refuses offers larger than this. */
export const maxPhotoBytes = 50 * 1024 * 1024;
const photoTypes = /^image\/(png|jpeg|webp)$/;

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
		v.size <= maxPhotoBytes &&
		typeof v.type === 'string' &&
		photoTypes.test(v.type)
	);
}

export type Control = { t: 'ready' } | { t: 'refuse' } | { t: 'done' };

export function parseControl(data: unknown): Control | null {
	if (typeof data !== 'string') return null;
	try {
		const msg = JSON.parse(data) as Control;
		return msg && typeof msg === 'object' && ['ready', 'refuse', 'done'].includes(msg.t) ? msg : null;
	} catch {
		return null;
	}
}

export function closeSoon(conn: DataConnection, ms: number): void {
	setTimeout(() => {
		try {
			conn.close();
		} catch {
			/* already closed */
		}
	}, ms);
}

/** Turns an offer away (already receiving one, or not from the current call): the sender
 * reads "refuse" once the channel opens, and the connection goes either way. */
export function refusePhoto(conn: DataConnection | null | undefined): void {
	if (!conn) return;
	const refuse = () => {
		try {
			conn.send(JSON.stringify({ t: 'refuse' } satisfies Control));
		} catch {
			/* closing anyway */
		}
		closeSoon(conn, 1000);
	};
	if (conn.open) refuse();
	else conn.on('open', refuse);
	closeSoon(conn, 5000);
}
