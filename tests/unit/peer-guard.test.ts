/**
 * The gate in front of the PeerJS Peer (machines/actors/peer-guard.ts): first its check, on
 * frames captured from the app's real PeerJS 1.5.5 (fixtures/peerjs-frames.json) and on a table
 * of hostile ones; then the hook itself, on a real PeerJS 1.5.5 Peer whose WebSocket is a fake
 * that the test feeds raw text, the way a server would.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { Peer, SerializationType, util, type DataConnection, type MediaConnection } from 'peerjs';
import {
	checkServerMessage,
	guardPeer,
	MAX_CANDIDATE_BYTES,
	MAX_METADATA_BYTES,
	MAX_SDP_CHARS,
	SERIALIZATIONS,
	type Checked,
	type Refusal
} from '$machines/actors/peer-guard';
import captured from './fixtures/peerjs-frames.json';

type Frame = { type: string; src?: string; dst?: string; payload?: Record<string, unknown> };
const real = captured.frames as unknown as Record<'mediaOffer' | 'dataOffer' | 'answer' | 'candidate' | 'expire', Frame>;
const src = real.mediaOffer.src!;

/** A captured frame with its payload fields replaced (undefined deletes one). */
function variant(frame: Frame, fields: Record<string, unknown>, top: Record<string, unknown> = {}): Record<string, unknown> {
	const payload: Record<string, unknown> = { ...frame.payload, ...fields };
	for (const [k, v] of Object.entries(fields)) if (v === undefined) delete payload[k];
	return { ...frame, payload, ...top };
}

/** Metadata whose JSON is exactly `bytes` long in UTF-8, padded with `char` (1 or 2 bytes). */
function metadataOf(bytes: number, char = 'x'): Record<string, unknown> {
	const per = new TextEncoder().encode(char).length;
	const shell = JSON.stringify({ pad: '' }).length;
	return { pad: char.repeat(Math.floor((bytes - shell) / per)) + 'x'.repeat((bytes - shell) % per) };
}

const everyConnection = () => true;
const noConnection = () => false;
const refusalOf = (checked: Checked) => ('refusal' in checked ? checked.refusal : null);

describe('the check passes what PeerJS sends, rebuilt from the fields PeerJS reads', () => {
	test.each(['mediaOffer', 'dataOffer', 'answer', 'candidate'] as const)('a real %s, captured from PeerJS 1.5.5, passes whole', (name) => {
		const { dst: _dst, ...frame } = real[name];
		expect(checkServerMessage(real[name], everyConnection)).toEqual({ message: frame });
	});

	test('every serialization of PeerJS’s own table, reliable or not; offers without metadata', () => {
		expect([...SERIALIZATIONS].sort()).toEqual(Object.values(SerializationType).sort());
		for (const serialization of SERIALIZATIONS) {
			for (const reliable of [true, false, undefined]) {
				const checked = checkServerMessage(variant(real.dataOffer, { serialization, reliable }), noConnection);
				expect(checked).toMatchObject({ message: { payload: { serialization, reliable: reliable === true } } });
			}
		}
		expect(checkServerMessage(variant(real.mediaOffer, { metadata: undefined }), noConnection)).toMatchObject({ message: { type: 'OFFER' } });
		expect(checkServerMessage(variant(real.dataOffer, { metadata: undefined }), noConnection)).toMatchObject({ message: { type: 'OFFER' } });
	});

	test('fields PeerJS would act on but never sends are dropped (an OFFER claiming `originator` would make us offer back)', () => {
		const checked = checkServerMessage(variant(real.dataOffer, { originator: true, _stream: {}, extra: 'x' }, { extra: 1 }), noConnection);
		const { dst: _dst, ...frame } = real.dataOffer;
		expect(checked).toEqual({ message: frame });
	});

	test('metadata up to 8 KB of UTF-8 passes; one byte more does not, multi-byte characters counted as bytes', () => {
		expect(JSON.stringify(metadataOf(MAX_METADATA_BYTES)).length).toBe(MAX_METADATA_BYTES);
		expect(checkServerMessage(variant(real.mediaOffer, { metadata: metadataOf(MAX_METADATA_BYTES) }), noConnection)).toHaveProperty('message');
		expect(refusalOf(checkServerMessage(variant(real.mediaOffer, { metadata: metadataOf(MAX_METADATA_BYTES + 1) }), noConnection))?.reason).toBe('metadata');
		const wide = metadataOf(MAX_METADATA_BYTES + 2, 'é');
		expect(JSON.stringify(wide).length).toBeLessThan(MAX_METADATA_BYTES);
		expect(refusalOf(checkServerMessage(variant(real.mediaOffer, { metadata: wide }), noConnection))?.reason).toBe('metadata');
	});

	test('the server’s own messages pass; an ERROR is reduced to a bounded text', () => {
		for (const type of ['OPEN', 'ID-TAKEN', 'INVALID-KEY', 'HEARTBEAT']) {
			expect(checkServerMessage({ type, payload: { msg: 'x' } }, noConnection)).toEqual({ message: { type } });
		}
		const { dst: _dst, ...expire } = real.expire;
		expect(checkServerMessage(real.expire, noConnection)).toEqual({ message: expire });
		expect(checkServerMessage({ type: 'LEAVE', src, dst: 'me' }, noConnection)).toEqual({ message: { type: 'LEAVE', src } });
		expect(checkServerMessage({ type: 'ERROR', payload: { msg: 'Invalid key provided' } }, noConnection)).toEqual({
			message: { type: 'ERROR', payload: { msg: 'Invalid key provided' } }
		});
		// PeerJS reads payload.msg: without a payload it would throw.
		expect(checkServerMessage({ type: 'ERROR' }, noConnection)).toEqual({ message: { type: 'ERROR', payload: { msg: 'Server error' } } });
		expect(checkServerMessage({ type: 'ERROR', payload: { msg: 'x'.repeat(10_000) } }, noConnection)).toMatchObject({
			message: { payload: { msg: 'x'.repeat(200) } }
		});
	});

	test('an ANSWER or CANDIDATE for a connection we do not hold is dropped quietly (PeerJS would keep it for ever)', () => {
		const asked: [string, string][] = [];
		const known = (from: string, id: string) => (asked.push([from, id]), false);
		expect(checkServerMessage(real.candidate, known)).toEqual({ stale: true });
		expect(checkServerMessage(real.answer, known)).toEqual({ stale: true });
		expect(asked).toEqual([
			[src, real.candidate.payload!.connectionId],
			[src, real.answer.payload!.connectionId]
		]);
	});
});

describe('hostile messages are refused, with the field that failed', () => {
	const hostile: [string, unknown, string][] = [
		['serialization constructor', variant(real.dataOffer, { serialization: 'constructor' }), 'serialization'],
		['serialization __proto__', variant(real.dataOffer, { serialization: '__proto__' }), 'serialization'],
		['serialization toString', variant(real.dataOffer, { serialization: 'toString' }), 'serialization'],
		['serialization hasOwnProperty', variant(real.dataOffer, { serialization: 'hasOwnProperty' }), 'serialization'],
		['serialization default (in PeerJS’s table, never sent)', variant(real.dataOffer, { serialization: 'default' }), 'serialization'],
		['serialization MsgPack (a plug-in we lack)', variant(real.dataOffer, { serialization: 'MsgPack' }), 'serialization'],
		['serialization missing', variant(real.dataOffer, { serialization: undefined }), 'serialization'],
		['serialization a number', variant(real.dataOffer, { serialization: 1 }), 'serialization'],
		['a media OFFER naming a serializer', variant(real.mediaOffer, { serialization: 'json' }), 'serialization'],
		['a media OFFER naming toString', variant(real.mediaOffer, { serialization: 'toString' }), 'serialization'],
		['metadata 100 KB', variant(real.mediaOffer, { metadata: { big: 'x'.repeat(100_000) } }), 'metadata'],
		['metadata an array', variant(real.mediaOffer, { metadata: [1, 2] }), 'metadata'],
		['metadata a string', variant(real.dataOffer, { metadata: 'control' }), 'metadata'],
		['metadata null', variant(real.dataOffer, { metadata: null }), 'metadata'],
		['metadata a number', variant(real.mediaOffer, { metadata: 7 }), 'metadata'],
		['metadata nested past JSON.stringify', variant(real.mediaOffer, { metadata: { deep: deepArray(200_000) } }), 'metadata'],
		['sdp missing', variant(real.mediaOffer, { sdp: undefined }), 'sdp'],
		['sdp a string', variant(real.mediaOffer, { sdp: 'v=0' }), 'sdp'],
		['sdp.sdp not a string', variant(real.dataOffer, { sdp: { type: 'offer', sdp: 42 } }), 'sdp'],
		['sdp.sdp empty', variant(real.dataOffer, { sdp: { type: 'offer', sdp: '' } }), 'sdp'],
		['sdp.sdp over 64 K', variant(real.mediaOffer, { sdp: { type: 'offer', sdp: 'v'.repeat(MAX_SDP_CHARS + 1) } }), 'sdp'],
		['an OFFER whose sdp is an answer', variant(real.mediaOffer, { sdp: { ...real.answer.payload!.sdp as object } }), 'sdp'],
		['an ANSWER whose sdp is an offer', variant(real.answer, { sdp: real.mediaOffer.payload!.sdp }), 'sdp'],
		['an ANSWER without sdp', variant(real.answer, { sdp: undefined }), 'sdp'],
		['connectionId of 100 KB', variant(real.mediaOffer, { connectionId: 'x'.repeat(100_000) }), 'connectionId'],
		['connectionId of 65 chars', variant(real.mediaOffer, { connectionId: 'x'.repeat(65) }), 'connectionId'],
		['connectionId empty', variant(real.mediaOffer, { connectionId: '' }), 'connectionId'],
		['connectionId an object', variant(real.candidate, { connectionId: { toString: 1 } }), 'connectionId'],
		['connectionId with a slash', variant(real.answer, { connectionId: 'mc_a/b' }), 'connectionId'],
		['connection type unknown', variant(real.mediaOffer, { type: 'video' }), 'type'],
		['connection type missing', variant(real.candidate, { type: undefined }), 'type'],
		['label missing', variant(real.dataOffer, { label: undefined }), 'label'],
		['label of 10 KB', variant(real.dataOffer, { label: 'l'.repeat(10_000) }), 'label'],
		['reliable a string', variant(real.dataOffer, { reliable: 'yes' }), 'reliable'],
		['payload missing', { type: 'OFFER', src }, 'payload'],
		['payload a string', { type: 'CANDIDATE', src, payload: 'x' }, 'payload'],
		['payload an array', { type: 'ANSWER', src, payload: [] }, 'payload'],
		['payload null', { type: 'OFFER', src, payload: null }, 'payload'],
		['CANDIDATE a number', variant(real.candidate, { candidate: 5 }), 'candidate'],
		['CANDIDATE a string', variant(real.candidate, { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host' }), 'candidate'],
		['CANDIDATE null', variant(real.candidate, { candidate: null }), 'candidate'],
		['CANDIDATE missing', variant(real.candidate, { candidate: undefined }), 'candidate'],
		['CANDIDATE text not a string', variant(real.candidate, { candidate: { candidate: {} } }), 'candidate'],
		['CANDIDATE sdpMid a number', variant(real.candidate, { candidate: { candidate: 'c', sdpMid: 0 } }), 'candidate'],
		['CANDIDATE sdpMLineIndex negative', variant(real.candidate, { candidate: { candidate: 'c', sdpMLineIndex: -1 } }), 'candidate'],
		['CANDIDATE sdpMLineIndex a fraction', variant(real.candidate, { candidate: { candidate: 'c', sdpMLineIndex: 0.5 } }), 'candidate'],
		['CANDIDATE sdpMLineIndex a string', variant(real.candidate, { candidate: { candidate: 'c', sdpMLineIndex: '0' } }), 'candidate'],
		['CANDIDATE sdpMLineIndex huge', variant(real.candidate, { candidate: { candidate: 'c', sdpMLineIndex: 5000 } }), 'candidate'],
		['CANDIDATE usernameFragment an object', variant(real.candidate, { candidate: { candidate: 'c', usernameFragment: {} } }), 'candidate'],
		['CANDIDATE over 4 KB', variant(real.candidate, { candidate: { candidate: 'c'.repeat(MAX_CANDIDATE_BYTES) } }), 'candidate'],
		['src missing', variant(real.mediaOffer, {}, { src: undefined }), 'src'],
		['src of 100 KB', variant(real.mediaOffer, {}, { src: 'a'.repeat(100_000) }), 'src'],
		['src with a slash', variant(real.candidate, {}, { src: '../x' }), 'src'],
		['src a number', variant(real.answer, {}, { src: 5 }), 'src'],
		['LEAVE without src', { type: 'LEAVE' }, 'src'],
		['EXPIRE with an object src', { type: 'EXPIRE', src: {} }, 'src'],
		['message type unknown', { type: 'HELLO', src, payload: {} }, 'type'],
		['message type missing', { src, payload: real.mediaOffer.payload }, 'type'],
		['message type an object', { type: { toString: 'OFFER' }, src }, 'type'],
		['message null', null, 'message'],
		['message an array', [real.mediaOffer], 'message'],
		['message a string', 'OFFER', 'message'],
		['message a number', 42, 'message']
	];

	test.each(hostile)('%s', (_name, raw, reason) => {
		const checked = checkServerMessage(raw, everyConnection);
		expect(checked).toEqual({ refusal: expect.objectContaining({ reason }) });
	});

	test('a refusal names the sender only by a valid ID, and the message type bounded', () => {
		expect(refusalOf(checkServerMessage(variant(real.dataOffer, { serialization: 'constructor' }), everyConnection))).toEqual({
			from: src,
			kind: 'OFFER',
			reason: 'serialization'
		});
		expect(refusalOf(checkServerMessage(variant(real.mediaOffer, {}, { src: 'a'.repeat(100_000) }), everyConnection))).toEqual({
			from: null,
			kind: 'OFFER',
			reason: 'src'
		});
		expect(refusalOf(checkServerMessage({ type: 'X'.repeat(1000), src }, everyConnection))).toEqual({ from: src, kind: 'X'.repeat(16), reason: 'type' });
		expect(refusalOf(checkServerMessage(null, everyConnection))).toEqual({ from: null, kind: '?', reason: 'message' });
	});
});

function deepArray(depth: number): unknown {
	let value: unknown = [];
	for (let i = 0; i < depth; i++) value = [value];
	return value;
}

// --- The hook, on a real PeerJS 1.5.5 Peer ------------------------------------------------------

/** The Peer's WebSocket: the test plays the server through it. */
class FakeSocket {
	static last: FakeSocket | null = null;
	readyState = 0;
	onmessage: ((e: { data: string }) => void) | null = null;
	onopen: (() => void) | null = null;
	onclose: ((e: unknown) => void) | null = null;
	sent: string[] = [];
	constructor(readonly url: string) {
		FakeSocket.last = this;
	}
	send(data: string) {
		this.sent.push(data);
	}
	close() {
		this.readyState = 3;
	}
	/** What a server sends: text, parsed by PeerJS itself. */
	deliver(frame: unknown) {
		this.onmessage!({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
	}
}

/** Just enough RTCPeerConnection for PeerJS to take a data OFFER (it never settles). */
class FakePc {
	static made: FakePc[] = [];
	signalingState = 'stable';
	closed = false;
	constructor() {
		FakePc.made.push(this);
	}
	setRemoteDescription() {
		return new Promise(() => {});
	}
	addIceCandidate() {
		return Promise.resolve();
	}
	close() {
		this.closed = true;
		this.signalingState = 'closed';
	}
}

describe('the hook on a real PeerJS 1.5.5 Peer', () => {
	const supports = { ...util.supports };
	beforeEach(() => {
		// Node is no browser to PeerJS: say it is, so the Peer opens its socket (our fake).
		Object.assign(util.supports, { browser: true, webRTC: true, audioVideo: true, data: true });
		vi.stubGlobal('WebSocket', FakeSocket);
		vi.stubGlobal('RTCPeerConnection', FakePc);
		vi.stubGlobal('RTCSessionDescription', class {
			constructor(init: object) {
				Object.assign(this, init);
			}
		});
		FakePc.made = [];
	});
	afterEach(() => {
		Object.assign(util.supports, supports);
		vi.unstubAllGlobals();
		vi.restoreAllMocks();
	});

	/** A registered Peer, as the app's actor makes it, with the app's handlers. */
	function openPeer({ guard = true } = {}) {
		const peer = new Peer('me', { host: '127.0.0.1', port: 9, path: '/', secure: false, debug: 0, token: 'tok' });
		const refusals: Refusal[] = [];
		const guarded = guard ? guardPeer(peer, (r) => refusals.push(r)) : null;
		const socket = FakeSocket.last!;
		const calls: MediaConnection[] = [];
		const connections: DataConnection[] = [];
		const errors: unknown[] = [];
		peer.on('call', (call) => calls.push(call));
		// What machines/actors/signaling.ts does with a connection it does not expect.
		peer.on('connection', (conn) => {
			connections.push(conn);
			conn.close();
		});
		peer.on('error', (e) => errors.push(e));
		socket.readyState = 1;
		socket.onopen!();
		socket.deliver({ type: 'OPEN' });
		expect(peer.open).toBe(true);
		return { peer, socket, refusals, guarded, calls, connections, errors };
	}

	test('finds its hook, and proves with a probe through the socket that every message passes it', () => {
		const error = vi.spyOn(console, 'error').mockImplementation(() => {});
		const { guarded, refusals } = openPeer();
		expect(guarded).toBe(true);
		expect(error).not.toHaveBeenCalled();
		// The probe went nowhere: not a refusal, not to PeerJS.
		expect(refusals).toEqual([]);
	});

	test('each serialization we accept is a constructor in a real Peer’s own table', () => {
		const { peer } = openPeer();
		const table = (peer as unknown as { _serializers: Record<string, unknown> })._serializers;
		for (const name of SERIALIZATIONS) {
			expect(Object.hasOwn(table, name), name).toBe(true);
			expect(typeof table[name], name).toBe('function');
		}
	});

	test('without the guard the poison is real: a `constructor` OFFER breaks close() and destroy()', () => {
		const { peer, socket } = openPeer({ guard: false });
		expect(() => socket.deliver(variant(real.dataOffer, { serialization: 'constructor' }))).toThrow(/close is not a function/);
		expect(() => peer.destroy()).toThrow();
	});

	test('poisoned frames, text as a server sends it: nothing throws, each is refused and reported, the Peer works on', () => {
		const { peer, socket, refusals, calls, connections, errors } = openPeer();
		const poison: unknown[] = [
			variant(real.dataOffer, { serialization: 'constructor' }),
			variant(real.dataOffer, { serialization: '__proto__' }),
			variant(real.dataOffer, { serialization: 'toString' }),
			variant(real.mediaOffer, { metadata: { big: 'x'.repeat(100_000) } }),
			variant(real.mediaOffer, { metadata: [1] }),
			variant(real.mediaOffer, { sdp: undefined }),
			variant(real.dataOffer, { sdp: { type: 'offer', sdp: 1 } }),
			variant(real.mediaOffer, { connectionId: 'x'.repeat(100_000) }),
			variant(real.mediaOffer, { type: 'video' }),
			variant(real.candidate, { candidate: 5 }),
			null,
			{ type: 'OFFER', src }
		];
		for (const frame of poison) expect(() => socket.deliver(frame)).not.toThrow();
		expect(refusals).toHaveLength(poison.length);
		expect(refusals.map((r) => r.reason)).toEqual([
			'serialization',
			'serialization',
			'serialization',
			'metadata',
			'metadata',
			'sdp',
			'sdp',
			'connectionId',
			'type',
			'candidate',
			'message',
			'payload'
		]);
		expect(calls).toEqual([]);
		expect(connections).toEqual([]);
		expect(peer.connections).toEqual({});
		expect(errors).toEqual([]);

		// A real call and a real data connection still arrive, and everything closes.
		socket.deliver(real.mediaOffer);
		socket.deliver(real.dataOffer);
		expect(calls).toHaveLength(1);
		expect(calls[0].metadata).toEqual(real.mediaOffer.payload!.metadata);
		expect(connections).toHaveLength(1);
		expect(connections[0].serialization).toBe('json');
		expect(FakePc.made).toHaveLength(1);
		expect(() => calls[0].close()).not.toThrow();
		// An ERROR without the payload PeerJS reads: the server's word, passed on with a text.
		expect(() => socket.deliver({ type: 'ERROR' })).not.toThrow();
		expect(errors).toMatchObject([{ type: 'server-error', message: 'Server error' }]);
		expect(peer.disconnected).toBe(true);
		expect(() => peer.destroy()).not.toThrow();
		expect(peer.destroyed).toBe(true);
	});

	test('CANDIDATEs: garbage for a known connection refused; a good one kept for the answer; one for no connection dropped quietly', () => {
		const { peer, socket, refusals, calls } = openPeer();
		socket.deliver(real.mediaOffer); // rings: PeerJS holds the connection, no pc until answer()
		const lost = (peer as unknown as { _lostMessages: Map<string, unknown[]> })._lostMessages;
		const id = real.mediaOffer.payload!.connectionId as string;
		const candidate = { ...real.candidate, payload: { ...real.candidate.payload, connectionId: id } };

		socket.deliver(variant(candidate, { candidate: 'garbage' }));
		socket.deliver(variant(candidate, { candidate: { candidate: 'c', sdpMLineIndex: 'x' } }));
		expect(refusals.map((r) => [r.kind, r.reason])).toEqual([
			['CANDIDATE', 'candidate'],
			['CANDIDATE', 'candidate']
		]);
		expect(lost.get(id)).toBeUndefined();

		socket.deliver(candidate);
		expect(lost.get(id)).toHaveLength(1);

		socket.deliver(variant(real.candidate, { connectionId: 'mc_nobody' }));
		socket.deliver(variant(real.answer, { connectionId: 'mc_nobody' }));
		expect(lost.has('mc_nobody')).toBe(false);
		expect(refusals).toHaveLength(2);
		expect(calls).toHaveLength(1);
		expect(() => peer.destroy()).not.toThrow();
	});

	test('PeerJS internals changed → false, and logged: no _handleMessage, or a socket that does not call it', () => {
		const error = vi.spyOn(console, 'error').mockImplementation(() => {});
		const noHandler = { socket: { emit() {} } };
		expect(guardPeer(noHandler as unknown as Peer, () => {})).toBe(false);
		expect(error).toHaveBeenCalledTimes(1);
		expect(String(error.mock.calls[0][0])).toMatch(/unchecked/);

		// A handler bound at construction: the instance property is never called.
		const bound = {
			_handleMessage(_m: unknown) {},
			socket: { emit: (_e: string, _data: unknown): void => {} },
			getConnection: () => null
		};
		const original = bound._handleMessage.bind(bound);
		bound.socket.emit = (_e, data) => original(data);
		expect(guardPeer(bound as unknown as Peer, () => {})).toBe(false);
		expect(error).toHaveBeenCalledTimes(2);
	});
});
