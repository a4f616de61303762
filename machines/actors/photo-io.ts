/**
 * The photo actors' implementations, loaded on first use (they stay out of the first load):
 * ImageCapture, canvas encoding, IndexedDB and the DataConnection transfer protocol. The
 * actors in ./photo.ts wrap them; errors leave as DOMExceptions with a name.
 */
import type { DataConnection } from 'peerjs';
import { parseControl, photoLimits, type Control, type PhotoOffer, type RefuseReason } from './photo-offer';
import { extensionOf, sniffImage, type ImageType } from './image-sniff';
import { leftInTrash, rememberTrash } from './photo-trash';
import { fillLightFor } from './camera-tuning';
import { closeQuietly } from './connection';
import { errorName } from '../errors';
import type {
	PhotoRecord,
	ReceiveEvent,
	ReceivePhotoInput,
	SavePhotoInput,
	SendEvent,
	SendPhotoInput,
	Shot,
	CheckedPhoto
} from './photo';

/** Grid thumbnails are this wide (kept ≥ 640 so a thumbnail stays sharp on a 3× phone). */
export const thumbWidth = 640;
/** 16 KiB messages cross every browser pair's SCTP stack without being split or cut. */
export const chunkBytes = 16 * 1024;
/** Pause sending above this many queued bytes, resume below the low-water mark: a deep
 * queue would delay the call's own packets on a slow uplink and grow memory. */
export const highWater = 1024 * 1024;
export const lowWater = 256 * 1024;

/** `camcall-20250102-030405.jpg`: sortable, and what a download is called. */
export function photoName(takenAt: number, type: string): string {
	const d = new Date(takenAt);
	const p = (n: number) => String(n).padStart(2, '0');
	const ext = extensionOf(type);
	return `camcall-${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}.${ext}`;
}

export function newPhotoId(): string {
	const bytes = new Uint8Array(8);
	crypto.getRandomValues(bytes);
	return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// ImageCapture is Chromium-only, so TypeScript's DOM library does not declare it.
export interface PhotoCapabilitiesLike {
	imageWidth?: { max?: number };
	imageHeight?: { max?: number };
	fillLightMode?: string[];
}
export interface PhotoSettingsLike {
	imageWidth?: number;
	imageHeight?: number;
	fillLightMode?: 'flash' | 'off';
}
interface ImageCaptureLike {
	getPhotoCapabilities(): Promise<PhotoCapabilitiesLike>;
	takePhoto(settings?: PhotoSettingsLike): Promise<Blob>;
	grabFrame(): Promise<ImageBitmap>;
}
type ImageCaptureCtor = new (track: MediaStreamTrack) => ImageCaptureLike;

function imageCaptureCtor(): ImageCaptureCtor | null {
	const ctor = (globalThis as { ImageCapture?: unknown }).ImageCapture;
	return typeof ctor === 'function' ? (ctor as ImageCaptureCtor) : null;
}

function liveVideoTrack(stream: MediaStream | null): MediaStreamTrack {
	const track = stream?.getVideoTracks().find((t) => t.readyState === 'live');
	if (!track) throw new DOMException('No live camera track', 'NotLiveError');
	return track;
}

/**
 * A received photo, checked before anything stores it: its own bytes say what it is (the
 * sender's type is ignored), its header's size is within photoLimits.photoPixels before a
 * decoder may allocate it, and it then decodes, at that size. Errors: `NotAnImageError`,
 * `TooLargeError`.
 */
export async function checkPhoto(input: { blob: Blob }): Promise<CheckedPhoto> {
	const header = sniffImage(new Uint8Array(await input.blob.arrayBuffer()));
	if (!header || header.width < 1 || header.height < 1) throw new DOMException('Not a JPEG, PNG or WebP image', 'NotAnImageError');
	if (header.width * header.height > photoLimits.photoPixels) throw new DOMException('More pixels than a photo may have', 'TooLargeError');
	const blob = new Blob([input.blob], { type: header.type });
	let decoded: { width: number; height: number };
	try {
		decoded = await measure(blob);
	} catch {
		throw new DOMException('The image does not decode', 'NotAnImageError');
	}
	if (decoded.width !== header.width || decoded.height !== header.height) {
		throw new DOMException('The image decodes to another size than it declares', 'NotAnImageError');
	}
	return { blob, type: header.type as ImageType, width: header.width, height: header.height };
}

/** Why a photo was refused, from the error checkPhoto threw. */
export function refuseReasonOf(err: unknown): RefuseReason {
	return (err as { name?: string } | null)?.name === 'TooLargeError' ? 'too-large' : 'not-image';
}

async function measure(blob: Blob): Promise<{ width: number; height: number }> {
	const bitmap = await createImageBitmap(blob);
	const size = { width: bitmap.width, height: bitmap.height };
	bitmap.close();
	return size;
}

function canvasOf(width: number, height: number): HTMLCanvasElement {
	const canvas = document.createElement('canvas');
	canvas.width = width;
	canvas.height = height;
	return canvas;
}

function encode(canvas: HTMLCanvasElement, quality: number): Promise<Blob> {
	return new Promise((resolve, reject) =>
		canvas.toBlob(
			(blob) => (blob ? resolve(blob) : reject(new DOMException('The canvas could not be encoded', 'EncodingError'))),
			'image/jpeg',
			quality
		)
	);
}

async function drawToJpeg(source: CanvasImageSource, width: number, height: number): Promise<Blob> {
	if (!width || !height) throw new DOMException('The camera gave an empty frame', 'EncodingError');
	const canvas = canvasOf(width, height);
	const ctx = canvas.getContext('2d');
	if (!ctx) throw new DOMException('No 2D canvas', 'NotSupportedError');
	ctx.drawImage(source, 0, 0, width, height);
	return encode(canvas, 0.92);
}

/**
 * What to ask takePhoto for: the largest size the camera offers, and a fill light that matches
 * the torch (lit with it on; no flash of the camera's own with it off), where the camera
 * reports fill-light modes. Undefined: nothing to ask, the camera's defaults.
 */
export function photoSettings(caps: PhotoCapabilitiesLike | null, torch: boolean): PhotoSettingsLike | undefined {
	const settings: PhotoSettingsLike = {};
	if (caps?.imageWidth?.max && caps.imageHeight?.max) {
		settings.imageWidth = caps.imageWidth.max;
		settings.imageHeight = caps.imageHeight.max;
	}
	const fillLightMode = fillLightFor(torch, caps?.fillLightMode);
	if (fillLightMode) settings.fillLightMode = fillLightMode;
	return Object.keys(settings).length ? settings : undefined;
}

/**
 * ImageCapture.takePhoto at the largest size getPhotoCapabilities() offers (a phone's sensor
 * is far larger than its 720p preview). Rejects with NotSupportedError where ImageCapture is
 * missing (Firefox, older Safari): the machine then takes the fallback.
 */
export async function takePhoto(input: { stream: MediaStream | null }): Promise<Shot> {
	const track = liveVideoTrack(input.stream);
	const ImageCapture = imageCaptureCtor();
	if (!ImageCapture) throw new DOMException('ImageCapture is not available', 'NotSupportedError');
	const capture = new ImageCapture(track);
	let caps: PhotoCapabilitiesLike | null = null;
	try {
		caps = await capture.getPhotoCapabilities();
	} catch {
		/* no capabilities: take it at whatever size the camera likes */
	}
	const torch = (track.getSettings() as { torch?: boolean }).torch === true;
	const settings = photoSettings(caps, torch);
	let blob: Blob;
	try {
		blob = await capture.takePhoto(settings);
	} catch (err) {
		// Some cameras refuse a size they just advertised; the default size still works (with
		// the fill light kept, so the torch's photo is still lit).
		if (!settings?.imageWidth) throw err;
		blob = await capture.takePhoto(settings.fillLightMode ? { fillLightMode: settings.fillLightMode } : undefined);
	}
	const { width, height } = await measure(blob);
	return { blob, width, height, method: 'takePhoto', takenAt: Date.now() };
}

function firstFrame(video: HTMLVideoElement): Promise<void> {
	return new Promise((resolve, reject) => {
		if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA && video.videoWidth) return resolve();
		const done = () => {
			video.removeEventListener('loadeddata', done);
			video.removeEventListener('error', failed);
			resolve();
		};
		const failed = () => {
			video.removeEventListener('loadeddata', done);
			video.removeEventListener('error', failed);
			reject(new DOMException('The camera frame could not be read', 'EncodingError'));
		};
		video.addEventListener('loadeddata', done);
		video.addEventListener('error', failed);
	});
}

/**
 * The fallback: ImageCapture.grabFrame where ImageCapture exists but takePhoto failed, else a
 * frame of the track played in a detached <video>, drawn on a canvas and encoded as JPEG.
 */
export async function grabFrame(input: { stream: MediaStream | null }): Promise<Shot> {
	const track = liveVideoTrack(input.stream);
	const ImageCapture = imageCaptureCtor();
	if (ImageCapture) {
		try {
			const bitmap = await new ImageCapture(track).grabFrame();
			try {
				const blob = await drawToJpeg(bitmap, bitmap.width, bitmap.height);
				return { blob, width: bitmap.width, height: bitmap.height, method: 'grabFrame', takenAt: Date.now() };
			} finally {
				bitmap.close();
			}
		} catch {
			/* fall through to the <video> route */
		}
	}
	const video = document.createElement('video');
	video.muted = true;
	video.playsInline = true;
	video.srcObject = new MediaStream([track]);
	try {
		await video.play();
		await firstFrame(video);
		const { videoWidth: width, videoHeight: height } = video;
		const blob = await drawToJpeg(video, width, height);
		return { blob, width, height, method: 'video', takenAt: Date.now() };
	} finally {
		// Only the element lets go; the track stays the capture machine's.
		video.pause();
		video.srcObject = null;
	}
}

/** A JPEG `thumbWidth` wide, or null when the photo is no wider (it serves as its own). */
async function thumbnail(blob: Blob, width: number, height: number): Promise<Blob | null> {
	if (width <= thumbWidth) return null;
	try {
		const bitmap = await createImageBitmap(blob);
		try {
			const h = Math.max(1, Math.round((height * thumbWidth) / width));
			const canvas = canvasOf(thumbWidth, h);
			const ctx = canvas.getContext('2d');
			if (!ctx) return null;
			ctx.imageSmoothingQuality = 'high';
			ctx.drawImage(bitmap, 0, 0, thumbWidth, h);
			return await encode(canvas, 0.82);
		} finally {
			bitmap.close();
		}
	} catch {
		return null; // the grid shows the photo itself
	}
}

// ---- IndexedDB: one database, one store of PhotoRecords keyed by id ----

const DB_NAME = 'camcall';
const STORE = 'photos';
let dbPromise: Promise<IDBDatabase> | null = null;

function openDb(): Promise<IDBDatabase> {
	if (dbPromise) return dbPromise;
	const opening = new Promise<IDBDatabase>((resolve, reject) => {
		if (typeof indexedDB === 'undefined') {
			reject(new DOMException('IndexedDB is not available', 'NotSupportedError'));
			return;
		}
		const req = indexedDB.open(DB_NAME, 1);
		req.onupgradeneeded = () => {
			if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE, { keyPath: 'id' });
		};
		req.onsuccess = () => {
			const db = req.result;
			// Another tab upgrading: let go, the next call opens again.
			db.onversionchange = () => {
				db.close();
				dbPromise = null;
			};
			resolve(db);
		};
		req.onerror = () => reject(req.error ?? new DOMException('IndexedDB open failed', 'UnknownError'));
		req.onblocked = () => reject(new DOMException('IndexedDB is blocked by another tab', 'InvalidStateError'));
	});
	dbPromise = opening;
	opening.catch(() => {
		if (dbPromise === opening) dbPromise = null;
	});
	return opening;
}

/** One transaction; resolves when it commits (not when the request succeeds), so a quota
 * abort at commit time is reported, and an aborted write leaves earlier photos untouched. */
async function transact<T>(mode: IDBTransactionMode, run: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
	const db = await openDb();
	return new Promise<T>((resolve, reject) => {
		const tx = db.transaction(STORE, mode);
		let request: IDBRequest<T>;
		try {
			request = run(tx.objectStore(STORE));
		} catch (err) {
			tx.abort();
			reject(err);
			return;
		}
		tx.oncomplete = () => resolve(request.result);
		const fail = () => reject(tx.error ?? request.error ?? new DOMException('The transaction was aborted', 'AbortError'));
		// A failed request aborts the transaction (not prevented): onabort reports it.
		tx.onabort = fail;
	});
}

export async function loadPhotos(): Promise<PhotoRecord[]> {
	// Deleted in an undo window the page did not outlive: removed now.
	for (const id of leftInTrash()) await deletePhoto({ id });
	rememberTrash([]);
	const all = await transact<unknown[]>('readonly', (store) => store.getAll());
	return all
		.map(fromStored)
		.filter((r): r is PhotoRecord => r !== null)
		.sort((a, b) => b.takenAt - a.takenAt);
}

// ---- Two stored forms: Blobs, or their bytes where the engine refuses Blobs ----
//
// WebKit's IndexedDB can refuse a Blob (WebKitGTK always; Safari in private browsing, and in
// some iOS versions): the transaction aborts with UnknownError ("Error preparing Blob/File
// data to be stored in object store"); other engines have said DataCloneError. The photo is
// then stored as an ArrayBuffer with its type (the record keeps `type`), and both forms read
// back as Blobs. A full disk (QuotaExceededError) is no such refusal and still says so.

/** A photo record as IndexedDB holds it: `blob` and `thumb` as Blobs or as their bytes. */
export interface StoredPhoto extends Omit<PhotoRecord, 'blob' | 'thumb'> {
	blob: Blob | ArrayBuffer;
	thumb: Blob | ArrayBuffer | null;
}

/** Whether a failed write is the engine refusing Blobs (worth trying the bytes form). */
export function blobRefused(err: unknown): boolean {
	const name = errorName(err);
	return name === 'UnknownError' || name === 'DataCloneError';
}

/** The bytes form of a record: what an engine that refuses Blobs can store. */
export async function asBytes(record: PhotoRecord): Promise<StoredPhoto> {
	return { ...record, blob: await record.blob.arrayBuffer(), thumb: record.thumb ? await record.thumb.arrayBuffer() : null };
}

const isBlob = (v: unknown): v is Blob => typeof Blob !== 'undefined' && v instanceof Blob;
const isBytes = (v: unknown): v is ArrayBuffer => v instanceof ArrayBuffer;

/** A stored record read back with Blobs, whichever form it was stored in; null for a record
 * that holds neither (written by something else, or damaged): it is left out of the gallery. */
export function fromStored(value: unknown): PhotoRecord | null {
	if (!value || typeof value !== 'object') return null;
	const stored = value as StoredPhoto;
	if (typeof stored.id !== 'string' || typeof stored.type !== 'string') return null;
	const blob = isBlob(stored.blob) ? stored.blob : isBytes(stored.blob) ? new Blob([stored.blob], { type: stored.type }) : null;
	if (!blob) return null;
	const thumb = isBlob(stored.thumb) ? stored.thumb : isBytes(stored.thumb) ? new Blob([stored.thumb], { type: 'image/jpeg' }) : null;
	return { ...stored, blob, thumb };
}

/** Once the engine has refused a Blob, later photos go straight to the bytes form. */
let storeBytes = false;

async function putPhoto(record: PhotoRecord): Promise<void> {
	if (!storeBytes) {
		try {
			await transact('readwrite', (store) => store.put(record));
			return;
		} catch (err) {
			if (!blobRefused(err)) throw err;
			storeBytes = true;
		}
	}
	const stored = await asBytes(record);
	await transact('readwrite', (store) => store.put(stored));
}

let persistAsked = false;

/** Measures (received photos), makes the thumbnail, and writes one record. */
export async function savePhoto(input: SavePhotoInput): Promise<PhotoRecord> {
	const size =
		input.width && input.height ? { width: input.width, height: input.height } : await measure(input.blob).catch(() => ({ width: 0, height: 0 }));
	const takenAt = input.takenAt ?? Date.now();
	const record: PhotoRecord = {
		id: newPhotoId(),
		blob: input.blob,
		thumb: await thumbnail(input.blob, size.width, size.height),
		name: input.name || photoName(takenAt, input.blob.type),
		type: input.blob.type,
		size: input.blob.size,
		width: size.width,
		height: size.height,
		takenAt,
		source: input.source,
		from: input.from,
		method: input.method
	};
	await putPhoto(record);
	if (!persistAsked && typeof navigator !== 'undefined' && navigator.storage?.persist) {
		// Ask once that the browser not evict the gallery under storage pressure.
		persistAsked = true;
		void navigator.storage.persist().catch(() => {});
	}
	return record;
}

export async function deletePhoto(input: { id: string }): Promise<string> {
	await transact('readwrite', (store) => store.delete(input.id));
	return input.id;
}

/** Progress at most every 5 %, and always the last step. */
function throttle(total: number, report: (n: number) => void): (n: number) => void {
	let last = -1;
	return (n) => {
		const step = Math.floor((n / total) * 20);
		if (step !== last || n >= total) {
			last = step;
			report(n);
		}
	};
}

/** What the sender is told, by the receiver's reason. */
const refusedBecause: Record<RefuseReason, Extract<SendEvent, { type: 'photo.sendFailed' }>['reason']> = {
	busy: 'peer-busy',
	declined: 'peer-declined',
	'too-large': 'too-large',
	limit: 'peer-limit',
	invalid: 'peer-unreachable',
	'not-image': 'peer-not-image',
	'not-saved': 'peer-not-saved'
};

export function startSend(input: SendPhotoInput, sendBack: (event: SendEvent) => void): () => void {
	let stopped = false;
	let settled = false;
	const finish = (event: SendEvent) => {
		if (stopped || settled) return;
		settled = true;
		sendBack(event);
	};
	const { photo } = input;
	let conn: DataConnection | undefined;
	try {
		conn = input.peer?.connect(input.to, {
			metadata: { photo: { callId: input.callId, name: photo.name, size: photo.size, type: photo.type } satisfies PhotoOffer },
			serialization: 'raw',
			reliable: true
		});
	} catch {
		conn = undefined;
	}
	if (!conn) {
		queueMicrotask(() => finish({ type: 'photo.sendFailed', reason: 'peer-unreachable' }));
		return () => {
			stopped = true;
		};
	}
	const c = conn;
	let started = false;
	const progress = throttle(photo.size, (sent) => {
		if (!stopped && !settled) sendBack({ type: 'photo.sendProgress', sent, total: photo.size } satisfies SendEvent);
	});

	const pump = async () => {
		const bytes = await photo.blob.arrayBuffer();
		const channel = c.dataChannel;
		channel.bufferedAmountLowThreshold = lowWater;
		const drained = () =>
			new Promise<void>((resolve) => channel.addEventListener('bufferedamountlow', () => resolve(), { once: true }));
		for (let offset = 0; offset < bytes.byteLength; offset += chunkBytes) {
			if (stopped || settled || !c.open) return;
			if (channel.bufferedAmount > highWater) await drained();
			if (stopped || settled || !c.open) return;
			c.send(bytes.slice(offset, offset + chunkBytes));
			progress(Math.max(0, Math.min(offset + chunkBytes, bytes.byteLength) - channel.bufferedAmount));
		}
		// Every byte out of the queue: the machine then waits for the receiver's "done".
		channel.bufferedAmountLowThreshold = 0;
		if (channel.bufferedAmount > 0) await drained();
		if (!stopped && !settled && c.open) progress(bytes.byteLength);
	};

	c.on('data', (data) => {
		const msg = parseControl(data);
		if (msg?.t === 'asking' && !started) {
			if (!stopped && !settled) sendBack({ type: 'photo.sendAsking' } satisfies SendEvent);
		} else if (msg?.t === 'ready' && !started) {
			started = true;
			if (!stopped) sendBack({ type: 'photo.sendOpen' } satisfies SendEvent);
			pump().catch(() => finish({ type: 'photo.sendFailed', reason: 'transfer-failed' }));
		} else if (msg?.t === 'refuse') {
			finish({ type: 'photo.sendFailed', reason: refusedBecause[msg.why] });
			c.close();
		} else if (msg?.t === 'done') {
			progress(photo.size);
			finish({ type: 'photo.sent' });
			c.close();
		}
	});
	c.on('close', () => finish({ type: 'photo.sendFailed', reason: started ? 'transfer-failed' : 'peer-unreachable' }));
	c.on('error', () => finish({ type: 'photo.sendFailed', reason: started ? 'transfer-failed' : 'peer-unreachable' }));

	return () => {
		stopped = true;
		c.removeAllListeners();
		closeQuietly(c);
	};
}

export function startReceive(input: ReceivePhotoInput, sendBack: (event: ReceiveEvent) => void): () => void {
	const { conn, offer } = input;
	const chunks: ArrayBuffer[] = [];
	let received = 0;
	let done = false;
	let stopped = false;
	const send = (event: ReceiveEvent) => {
		if (!stopped) sendBack(event);
	};
	const progress = throttle(offer.size, (n) => send({ type: 'photo.receiveProgress', received: n, total: offer.size }));
	const ready = () => conn.send(JSON.stringify({ t: 'ready' } satisfies Control));

	const onData = (data: unknown) => {
		if (done) return;
		const bytes =
			data instanceof ArrayBuffer
				? data
				: ArrayBuffer.isView(data)
					? (data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer)
					: null;
		if (!bytes) return;
		chunks.push(bytes);
		received += bytes.byteLength;
		if (received > offer.size) {
			done = true;
			send({ type: 'photo.receiveFailed' });
			conn.close();
			return;
		}
		progress(received);
		if (received === offer.size) {
			// "done" waits until the photo is checked and stored (the machine replies).
			done = true;
			send({ type: 'photo.received', blob: new Blob(chunks) });
		}
	};
	const onClose = () => {
		if (!done) send({ type: 'photo.receiveFailed' });
	};
	conn.on('data', onData);
	conn.on('close', onClose);
	conn.on('error', onClose);
	if (conn.open) ready();
	else conn.on('open', ready);

	return () => {
		stopped = true;
		conn.off('data', onData);
		conn.off('close', onClose);
		conn.off('error', onClose);
		conn.off('open', ready);
		// Once every byte is in, the machine answers on this connection after storing.
		if (!done) conn.close();
	};
}

