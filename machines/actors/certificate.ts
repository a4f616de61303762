/**
 * This device's DTLS certificate: one ECDSA P-256 RTCCertificate kept in IndexedDB and given
 * to every RTCPeerConnection (its `certificates`), so the same two devices always get the same
 * safety code. Without it the browser makes a new certificate per connection and the code
 * changes on every call. Renewed a month before it expires (which changes the code once, as a
 * new phone would). Loaded when a call starts (actors/call-extras.ts imports it).
 */

const DB_NAME = 'camcall-keys';
const STORE = 'certificates';
const KEY = 'dtls';
const day = 24 * 60 * 60 * 1000;
/** How long a new certificate lives, and how long before its end it is replaced. */
export const certificateLifetime = 365 * day;
export const renewBefore = 30 * day;

function request<T>(req: IDBRequest<T>): Promise<T> {
	return new Promise((resolve, reject) => {
		req.onsuccess = () => resolve(req.result);
		req.onerror = () => reject(req.error);
	});
}

function openDb(): Promise<IDBDatabase> {
	const open = indexedDB.open(DB_NAME, 1);
	open.onupgradeneeded = () => open.result.createObjectStore(STORE);
	return request(open);
}

/** Whether a stored value is a certificate this device may go on using. */
export function usable(value: unknown, now = Date.now()): value is RTCCertificate {
	return (
		typeof RTCCertificate !== 'undefined' &&
		value instanceof RTCCertificate &&
		Number.isFinite(value.expires) &&
		value.expires - now > renewBefore
	);
}

/** The stored certificate, or a new one stored in its place; null where the browser cannot
 * (no IndexedDB, private mode, an old engine): the call then goes on with the browser's own
 * per-connection certificate, and its code changes from call to call. */
export async function loadDeviceCertificate(): Promise<RTCCertificate | null> {
	const db = await openDb();
	try {
		const stored = await request(db.transaction(STORE).objectStore(STORE).get(KEY));
		if (usable(stored)) return stored;
		const fresh = await RTCPeerConnection.generateCertificate({
			name: 'ECDSA',
			namedCurve: 'P-256',
			expires: certificateLifetime
		} as EcKeyGenParams & { expires: number });
		// Another tab may have stored one meanwhile: the first stored wins, so both tabs agree.
		const tx = db.transaction(STORE, 'readwrite');
		const store = tx.objectStore(STORE);
		const again = await request(store.get(KEY));
		if (usable(again)) return again;
		store.put(fresh, KEY);
		await new Promise<void>((resolve, reject) => {
			tx.oncomplete = () => resolve();
			tx.onerror = () => reject(tx.error);
			tx.onabort = () => reject(tx.error);
		});
		return fresh;
	} finally {
		db.close();
	}
}
