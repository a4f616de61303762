// The PeerJS signaling protocol as PeerJS 1.5 clients speak it, and the checks every frame from
// the network passes before anything acts on it. Pure functions: no sockets, no clock.
//
// A frame is relayed only once it has been rebuilt from the fields PeerJS itself reads, each
// checked and bounded; nothing else a sender put in it reaches the far peer.

/** Largest WebSocket frame a client may send (ws closes the socket with 1009 past it). */
export const MAX_FRAME_BYTES = 64 * 1024;
/** SDP text of an OFFER or ANSWER. */
export const MAX_SDP_CHARS = 64 * 1024;
/** An OFFER's metadata, as JSON. */
export const MAX_METADATA_BYTES = 8 * 1024;
/** A CANDIDATE's payload, as JSON. */
export const MAX_CANDIDATE_BYTES = 4 * 1024;
export const MAX_ID_CHARS = 64;
/** Largest message one node takes from another through Redis (a batch of queued frames). */
export const MAX_ENVELOPE_BYTES = 1024 * 1024;

/** Message types a client may send. EXPIRE, OPEN, ID-TAKEN and ERROR only come from the server. */
export const CLIENT_TYPES = /** @type {const} */ (['HEARTBEAT', 'OFFER', 'ANSWER', 'CANDIDATE', 'LEAVE']);

/** The keys of PeerJS 1.5's own serializer table (`peer._serializers`) that a sender emits:
 * an OFFER naming anything else (`constructor`, `__proto__`) breaks the receiving client. */
export const SERIALIZATIONS = /** @type {const} */ (['binary', 'binary-utf8', 'json', 'raw']);

/** PeerJS's own ID rule (util.validateId), plus a length bound. */
const ID_PATTERN = /^[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*$/;
const TOKEN_PATTERN = /^[\x21-\x7e]{1,128}$/;
const CONNECTION_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_LABEL_CHARS = 256;

/** Server messages' human texts (the `msg` of an ERROR payload). */
export const Errors = {
	INVALID_KEY: 'Invalid key provided',
	INVALID_WS_PARAMETERS: 'No id, token, or key supplied to websocket server',
	INVALID_ID: 'Invalid ID',
	INVALID_TOKEN: 'Invalid token',
	CONNECTION_LIMIT_EXCEED: 'Server has reached its concurrent user limit',
	RESERVATIONS_FULL: 'Server cannot reserve more IDs',
	STORE_FAILED: 'Server could not record this ID; try again',
	RATE_LIMITED: 'Too many messages: slow down',
	BINARY: 'Binary frames are not part of the protocol',
	NOT_JSON: 'Message is not JSON',
	NOT_OBJECT: 'Message is not a JSON object',
	UNKNOWN_TYPE: 'Unknown message type',
	BAD_DST: 'Missing or invalid dst',
	BAD_PAYLOAD: 'Invalid payload'
};

/** @param {unknown} id @returns {id is string} */
export function isValidId(id) {
	return typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_CHARS && ID_PATTERN.test(id);
}

/** @param {unknown} token @returns {token is string} */
export function isValidToken(token) {
	return typeof token === 'string' && TOKEN_PATTERN.test(token);
}

/**
 * @typedef {{ type: 'HEARTBEAT' }
 *   | { type: 'LEAVE', dst: string | null }
 *   | { type: 'OFFER' | 'ANSWER' | 'CANDIDATE', dst: string, payload: Record<string, unknown> }
 * } ClientMessage
 */

/** @typedef {{ ok: true, message: ClientMessage } | { ok: false, error: string }} Parsed */

/** @param {unknown} value @returns {value is Record<string, unknown>} */
function isPlainObject(value) {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** @param {string} text */
function utf8Bytes(text) {
	return Buffer.byteLength(text, 'utf8');
}

/**
 * Parses and checks one text frame from a registered client.
 * @param {string} text the frame, already valid UTF-8 (ws checks that)
 * @returns {Parsed}
 */
export function parseClientMessage(text) {
	/** @type {unknown} */
	let raw;
	try {
		raw = JSON.parse(text);
	} catch {
		return { ok: false, error: Errors.NOT_JSON };
	}
	if (!isPlainObject(raw)) return { ok: false, error: Errors.NOT_OBJECT };
	const type = raw.type;
	switch (type) {
		case 'HEARTBEAT':
			return { ok: true, message: { type } };
		case 'LEAVE': {
			// A LEAVE with no dst is a client saying goodbye (the stock server drops it).
			if (raw.dst === undefined || raw.dst === null) return { ok: true, message: { type, dst: null } };
			if (!isValidId(raw.dst)) return { ok: false, error: Errors.BAD_DST };
			return { ok: true, message: { type, dst: raw.dst } };
		}
		case 'OFFER':
		case 'ANSWER':
		case 'CANDIDATE': {
			if (!isValidId(raw.dst)) return { ok: false, error: Errors.BAD_DST };
			const payload =
				type === 'OFFER' ? offerPayload(raw.payload) : type === 'ANSWER' ? answerPayload(raw.payload) : candidatePayload(raw.payload);
			if (!payload) return { ok: false, error: Errors.BAD_PAYLOAD };
			return { ok: true, message: { type, dst: raw.dst, payload } };
		}
		default:
			return { ok: false, error: Errors.UNKNOWN_TYPE };
	}
}

/**
 * The fields every OFFER/ANSWER/CANDIDATE payload shares.
 * @param {Record<string, unknown>} p
 */
function connectionFields(p) {
	if (p.type !== 'media' && p.type !== 'data') return null;
	if (typeof p.connectionId !== 'string' || !CONNECTION_ID_PATTERN.test(p.connectionId)) return null;
	return { type: p.type, connectionId: p.connectionId };
}

/**
 * @param {unknown} sdp
 * @param {'offer' | 'answer'} kind
 */
function sessionDescription(sdp, kind) {
	if (!isPlainObject(sdp) || sdp.type !== kind) return null;
	if (typeof sdp.sdp !== 'string' || sdp.sdp.length === 0 || sdp.sdp.length > MAX_SDP_CHARS) return null;
	return { type: kind, sdp: sdp.sdp };
}

/** @param {unknown} p */
function offerPayload(p) {
	if (!isPlainObject(p)) return null;
	const base = connectionFields(p);
	const sdp = sessionDescription(p.sdp, 'offer');
	if (!base || !sdp) return null;
	/** @type {Record<string, unknown>} */
	const out = { ...base, sdp };
	if (p.metadata !== undefined) {
		let json;
		try {
			json = JSON.stringify(p.metadata);
		} catch {
			return null;
		}
		if (json === undefined || utf8Bytes(json) > MAX_METADATA_BYTES) return null;
		out.metadata = p.metadata;
	}
	if (base.type === 'data') {
		if (!SERIALIZATIONS.includes(/** @type {any} */ (p.serialization))) return null;
		if (typeof p.label !== 'string' || p.label.length > MAX_LABEL_CHARS) return null;
		if (p.reliable !== undefined && typeof p.reliable !== 'boolean') return null;
		out.serialization = p.serialization;
		out.label = p.label;
		out.reliable = p.reliable === true;
	} else if (p.serialization !== undefined) {
		// A media OFFER has no serializer; one that names any is not from PeerJS.
		return null;
	}
	return out;
}

/** @param {unknown} p */
function answerPayload(p) {
	if (!isPlainObject(p)) return null;
	const base = connectionFields(p);
	const sdp = sessionDescription(p.sdp, 'answer');
	if (!base || !sdp) return null;
	return { ...base, sdp };
}

/** @param {unknown} p */
function candidatePayload(p) {
	if (!isPlainObject(p)) return null;
	const base = connectionFields(p);
	const c = p.candidate;
	if (!base || !isPlainObject(c) || typeof c.candidate !== 'string') return null;
	const sdpMid = c.sdpMid ?? null;
	const sdpMLineIndex = c.sdpMLineIndex ?? null;
	const usernameFragment = c.usernameFragment ?? null;
	if (sdpMid !== null && typeof sdpMid !== 'string') return null;
	if (sdpMLineIndex !== null && !(typeof sdpMLineIndex === 'number' && Number.isInteger(sdpMLineIndex) && sdpMLineIndex >= 0 && sdpMLineIndex < 1024)) return null;
	if (usernameFragment !== null && typeof usernameFragment !== 'string') return null;
	const out = { ...base, candidate: { candidate: c.candidate, sdpMid, sdpMLineIndex, usernameFragment } };
	if (utf8Bytes(JSON.stringify(out)) > MAX_CANDIDATE_BYTES) return null;
	return out;
}
