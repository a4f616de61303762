/**
 * Photo actors: the only code that calls ImageCapture, draws video frames on a canvas, opens
 * IndexedDB for photos, and moves photo bytes over a PeerJS DataConnection. The work itself
 * is in ./photo-io.ts, imported on first use so it stays out of the first load. Errors leave
 * as DOMExceptions with a name; machines/errors.ts maps them to reasons.
 */
import { fromCallback, fromPromise } from 'xstate';
import type { DataConnection, Peer } from 'peerjs';
import type { PhotoOffer } from './photo-offer';

export { rememberTrash } from './photo-trash';
export { isPhotoOffer, photoLimits, refusePhoto, replyPhoto, type PhotoOffer, type RefuseReason } from './photo-offer';
import type { ImageType } from './image-sniff';

/** How a shot was produced: ImageCapture.takePhoto (full sensor resolution where the camera
 * offers more than the preview), ImageCapture.grabFrame, or a <video> frame drawn on a canvas. */
export type ShotMethod = 'takePhoto' | 'grabFrame' | 'video';

export interface Shot {
	blob: Blob;
	width: number;
	height: number;
	method: ShotMethod;
	takenAt: number;
}

/** One photo as IndexedDB keeps it (and the photo machine lists it). */
export interface PhotoRecord {
	id: string;
	/** The photo's bytes, exactly as taken or received. */
	blob: Blob;
	/** A JPEG at most `thumbWidth` wide for the grid; null when the photo is that small already. */
	thumb: Blob | null;
	name: string;
	type: string;
	size: number;
	width: number;
	height: number;
	takenAt: number;
	source: 'camera' | 'received';
	/** The sender's peer ID, for received photos. */
	from: string | null;
	method: ShotMethod | null;
}

export interface SavePhotoInput {
	blob: Blob;
	width?: number;
	height?: number;
	/** When the shot was taken; a received photo is dated on arrival. */
	takenAt?: number;
	method: ShotMethod | null;
	source: PhotoRecord['source'];
	from: string | null;
	name?: string;
}

// ---- Sending and receiving over a PeerJS DataConnection ----
//
// The sender opens `peer.connect(to, { metadata: { photo: PhotoOffer }, serialization: 'raw' })`.
// The receiver answers (PeerJS does that), and once its actor listens it sends the JSON text
// `{"t":"ready"}` (or `{"t":"refuse"}`). The sender then sends the bytes as binary messages of
// `chunkBytes`, pausing while the channel's bufferedAmount is above `highWater`. The receiver
// counts bytes up to the announced size and answers `{"t":"done"}`; the sender then closes.

/**
 * Events the send actor reports:
 * - `photo.sendAsking`: the receiver's person is being asked to accept photos from us.
 * - `photo.sendOpen`: the receiver is listening; bytes start to flow.
 * - `photo.sendProgress { sent, total }`: bytes that left the queue, at most every 5 %.
 * - `photo.sent`: the receiver confirmed every byte, and that it stored the photo.
 * - `photo.sendFailed { reason }`: refused (the receiver's reason), or closed before the
 *   confirmation.
 */
export type SendEvent =
	| { type: 'photo.sendAsking' }
	| { type: 'photo.sendOpen' }
	| { type: 'photo.sendProgress'; sent: number; total: number }
	| { type: 'photo.sent' }
	| {
			type: 'photo.sendFailed';
			reason:
				| 'peer-unreachable'
				| 'transfer-failed'
				| 'peer-busy'
				| 'peer-declined'
				| 'too-large'
				| 'peer-limit'
				| 'peer-not-image'
				| 'peer-not-saved';
	  };

/**
 * Events the receive actor reports:
 * - `photo.offerWithdrawn`: the sender closed while the person was being asked.
 * - `photo.receiveProgress { received, total }`: at most every 5 %.
 * - `photo.received { blob }`: every announced byte arrived.
 * - `photo.receiveFailed`: closed early, or more bytes than announced.
 */
export type ReceiveEvent =
	| { type: 'photo.offerWithdrawn' }
	| { type: 'photo.receiveProgress'; received: number; total: number }
	| { type: 'photo.received'; blob: Blob }
	| { type: 'photo.receiveFailed' };

export interface SendPhotoInput {
	peer: Peer | null;
	to: string;
	callId: string;
	photo: Pick<PhotoRecord, 'blob' | 'name' | 'type' | 'size'>;
}

/** A received photo once its bytes proved it an image within the limits (checkPhoto). */
export interface CheckedPhoto {
	/** The same bytes, typed as what they are. */
	blob: Blob;
	type: ImageType;
	width: number;
	height: number;
}

export interface ReceivePhotoInput {
	conn: DataConnection;
	offer: PhotoOffer;
}

const io = () => import('./photo-io');

export const takePhoto = fromPromise<Shot, { stream: MediaStream | null }>(async ({ input }) => (await io()).takePhoto(input));
export const grabFrame = fromPromise<Shot, { stream: MediaStream | null }>(async ({ input }) => (await io()).grabFrame(input));
export const loadPhotos = fromPromise<PhotoRecord[], void>(async () => (await io()).loadPhotos());
export const savePhoto = fromPromise<PhotoRecord, SavePhotoInput>(async ({ input }) => (await io()).savePhoto(input));
export const checkPhoto = fromPromise<CheckedPhoto, { blob: Blob }>(async ({ input }) => (await io()).checkPhoto(input));
/** Removes the photos for good, one by one; fails on the first that cannot be removed. */
export const deletePhoto = fromPromise<string[], { ids: string[] }>(async ({ input }) => {
	const m = await io();
	for (const id of input.ids) await m.deletePhoto({ id });
	return input.ids;
});

/** A callback actor whose work starts once ./photo-io.ts has loaded; stopped before that, it
 * never starts. */
function lazyCallback<TInput, TEvent extends { type: string }>(
	start: (m: typeof import('./photo-io'), input: TInput, sendBack: (e: TEvent) => void) => () => void,
	failed: TEvent
) {
	return fromCallback<{ type: string }, TInput>(({ input, sendBack }) => {
		let stopped = false;
		let cleanup: (() => void) | null = null;
		io().then(
			(m) => {
				if (!stopped) cleanup = start(m, input, sendBack);
			},
			() => {
				if (!stopped) sendBack(failed);
			}
		);
		return () => {
			stopped = true;
			cleanup?.();
		};
	});
}

export const sendPhoto = lazyCallback<SendPhotoInput, SendEvent>((m, input, send) => m.startSend(input, send), {
	type: 'photo.sendFailed',
	reason: 'peer-unreachable'
});
/**
 * Holds an offer while the person decides: tells the sender "asking" once the channel is open,
 * and reports `photo.offerWithdrawn` if the sender closes meanwhile.
 */
export const askAboutOffer = fromCallback<{ type: string }, { conn: DataConnection }>(({ input, sendBack }) => {
	const { conn } = input;
	const asking = () => {
		try {
			conn.send(JSON.stringify({ t: 'asking' }));
		} catch {
			/* closed meanwhile: 'close' reports it */
		}
	};
	const withdrawn = () => sendBack({ type: 'photo.offerWithdrawn' });
	if (conn.open) asking();
	else conn.on('open', asking);
	conn.on('close', withdrawn);
	conn.on('error', withdrawn);
	return () => {
		conn.off('open', asking);
		conn.off('close', withdrawn);
		conn.off('error', withdrawn);
	};
});

export const receivePhoto = lazyCallback<ReceivePhotoInput, ReceiveEvent>((m, input, send) => m.startReceive(input, send), {
	type: 'photo.receiveFailed'
});

