/**
 * The gate in front of the PeerJS Peer: every message its signaling server delivers is checked
 * and rebuilt here before PeerJS handles it.
 *
 * PeerJS 1.5.5 trusts those messages. An OFFER whose `serialization` names an Object.prototype
 * key (`constructor`, `__proto__`, `toString`) throws inside it and can leave a non-connection in
 * its table, after which `close()` and `destroy()` throw too; a missing payload, sdp or
 * candidate throws or rejects unhandled; an ANSWER or CANDIDATE for no connection is kept for
 * ever. Whoever runs the server, or anyone the server relays for (the public cloud relays
 * payloads unchecked), can send these, so the check is in the client. The rules are those of
 * our own server (src/server/signaling/protocol.js): only the fields PeerJS reads reach it, each
 * checked and bounded. Loaded with PeerJS, not in the first load.
 */
import type { Peer } from 'peerjs';

export const MAX_SDP_CHARS = 64 * 1024;
export const MAX_METADATA_BYTES = 8 * 1024;
export const MAX_CANDIDATE_BYTES = 4 * 1024;
const MAX_LABEL_CHARS = 256;
const MAX_ID_CHARS = 64;
/** The keys of PeerJS 1.5's own serializer table that its senders put in an OFFER. */
export const SERIALIZATIONS: readonly string[] = ['binary', 'binary-utf8', 'json', 'raw'];
/** PeerJS's own ID rule (util.validateId), bounded like our server's. */
const ID_PATTERN = /^[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*$/;
/** PeerJS makes `mc_` / `dc_` plus a base-36 token. */
const CONNECTION_ID_PATTERN = /^[\w-]{1,64}$/;

/** A message dropped because it is malformed: `from` is its sender's ID when that was valid,
 * `kind` its message type, `reason` the first field that failed. */
export interface Refusal {
	from: string | null;
	kind: string;
	reason: string;
}

/** `message`: the rebuilt message to hand to PeerJS. `refusal`: malformed, dropped and
 * reported. `stale`: well formed, but for no connection we hold (a late candidate after a
 * hang-up, or a guess): dropped quietly, since PeerJS would keep it for ever. */
export type Checked = { message: Obj } | { refusal: Refusal } | { stale: true };

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is string => typeof v === 'string' && v.length <= MAX_ID_CHARS && ID_PATTERN.test(v);
// A UTF-16 length over the limit is always over it in UTF-8 bytes too: no encoding needed then.
const fits = (text: string, bytes: number) => text.length <= bytes && new TextEncoder().encode(text).length <= bytes;

function description(sdp: unknown, type: 'offer' | 'answer'): Obj | null {
	return isObject(sdp) && sdp.type === type && typeof sdp.sdp === 'string' && sdp.sdp.length > 0 && sdp.sdp.length <= MAX_SDP_CHARS
		? { type, sdp: sdp.sdp }
		: null;
}

function metadataOk(metadata: unknown): boolean {
	if (!isObject(metadata)) return false;
	try {
		return fits(JSON.stringify(metadata), MAX_METADATA_BYTES);
	} catch {
		return false; // nested too deep to serialise
	}
}

/** The fields of an OFFER / ANSWER / CANDIDATE payload after `type` and `connectionId`, or the
 * name of the first bad one. */
function payloadFields(kind: string, p: Obj, out: Obj): string | null {
	if (kind === 'CANDIDATE') {
		const c = p.candidate;
		if (!isObject(c) || typeof c.candidate !== 'string') return 'candidate';
		const { sdpMid = null, sdpMLineIndex = null, usernameFragment = null } = c;
		if (sdpMid !== null && typeof sdpMid !== 'string') return 'candidate';
		if (sdpMLineIndex !== null && !(Number.isInteger(sdpMLineIndex) && (sdpMLineIndex as number) >= 0 && (sdpMLineIndex as number) < 1024)) return 'candidate';
		if (usernameFragment !== null && typeof usernameFragment !== 'string') return 'candidate';
		out.candidate = { candidate: c.candidate, sdpMid, sdpMLineIndex, usernameFragment };
		return fits(JSON.stringify(out), MAX_CANDIDATE_BYTES) ? null : 'candidate';
	}
	const sdp = description(p.sdp, kind === 'OFFER' ? 'offer' : 'answer');
	if (!sdp) return 'sdp';
	out.sdp = sdp;
	if (kind === 'ANSWER') return null;
	if (p.metadata !== undefined) {
		if (!metadataOk(p.metadata)) return 'metadata';
		out.metadata = p.metadata;
	}
	if (out.type === 'media') return p.serialization === undefined ? null : 'serialization';
	if (typeof p.serialization !== 'string' || !SERIALIZATIONS.includes(p.serialization)) return 'serialization';
	if (typeof p.label !== 'string' || p.label.length > MAX_LABEL_CHARS) return 'label';
	if (p.reliable !== undefined && typeof p.reliable !== 'boolean') return 'reliable';
	out.serialization = p.serialization;
	out.label = p.label;
	out.reliable = p.reliable === true;
	return null;
}

/**
 * Checks one message from the signaling server. `known(src, connectionId)` says whether the
 * Peer holds that connection.
 */
export function checkServerMessage(raw: unknown, known: (src: string, connectionId: string) => boolean): Checked {
	const refuse = (reason: string): Checked => ({
		refusal: {
			from: isObject(raw) && isId(raw.src) ? raw.src : null,
			kind: isObject(raw) && typeof raw.type === 'string' ? raw.type.slice(0, 16) : '?',
			reason
		}
	});
	if (!isObject(raw)) return refuse('message');
	const { type, src, payload } = raw;
	switch (type) {
		case 'OPEN':
		case 'ID-TAKEN':
		case 'INVALID-KEY':
		case 'HEARTBEAT':
			return { message: { type } };
		case 'ERROR': {
			const msg = isObject(payload) && typeof payload.msg === 'string' ? payload.msg.slice(0, 200) : 'Server error';
			return { message: { type, payload: { msg } } };
		}
		case 'LEAVE':
		case 'EXPIRE':
			return isId(src) ? { message: { type, src } } : refuse('src');
		case 'OFFER':
		case 'ANSWER':
		case 'CANDIDATE': {
			if (!isId(src)) return refuse('src');
			if (!isObject(payload)) return refuse('payload');
			if (payload.type !== 'media' && payload.type !== 'data') return refuse('type');
			const connectionId = payload.connectionId;
			if (typeof connectionId !== 'string' || !CONNECTION_ID_PATTERN.test(connectionId)) return refuse('connectionId');
			const out: Obj = { type: payload.type, connectionId };
			const bad = payloadFields(type, payload, out);
			if (bad) return refuse(bad);
			if (type !== 'OFFER' && !known(src, connectionId)) return { stale: true };
			return { message: { type, src, payload: out } };
		}
		default:
			return refuse('type');
	}
}

/** What only the probe can be: proves that messages from the socket pass through the guard. */
const PROBE = Object.freeze({ type: 'camcall-probe' });

/**
 * Puts the check in front of this Peer's message handler. Call it right after `new Peer()`:
 * no message can arrive before the socket opens, a task later. PeerJS 1.5.5's socket listener
 * calls `this._handleMessage(data)`, so an own property of the instance takes its place. A probe
 * sent through the socket then proves the guard is on the path; if PeerJS has changed so that it
 * is not, this logs why and returns false (the Peer works, unchecked, as before).
 */
export function guardPeer(peer: Peer, refused: (refusal: Refusal) => void): boolean {
	const p = peer as unknown as {
		_handleMessage?: (message: unknown) => void;
		socket?: { emit?: (event: string, data: unknown) => unknown };
	};
	const handle = p._handleMessage;
	let probed = false;
	if (typeof handle === 'function') {
		p._handleMessage = (raw: unknown) => {
			if (raw === PROBE) {
				probed = true;
				return;
			}
			let checked: Checked;
			try {
				checked = checkServerMessage(raw, (src, id) => !!peer.getConnection(src, id));
			} catch {
				checked = { refusal: { from: null, kind: '?', reason: 'check' } };
			}
			if ('message' in checked) handle.call(peer, checked.message);
			else if ('refusal' in checked) refused(checked.refusal);
		};
		try {
			p.socket?.emit?.('message', PROBE);
		} catch {
			/* not a PeerJS 1.5 socket: probed stays false */
		}
	}
	if (!probed) console.error('CamCall: PeerJS internals changed; signaling messages reach it unchecked (machines/actors/peer-guard.ts)');
	return probed;
}
