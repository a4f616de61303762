/**
 * The media call actor: owns one PeerJS MediaConnection and therefore one RTCPeerConnection.
 * It observes the pc with addEventListener only (PeerJS owns the pc's `on*` properties), and
 * removes every listener and closes the connection when it stops.
 */
import { fromCallback } from 'xstate';
import type { MediaConnection, Peer } from 'peerjs';

export interface MediaCallInput {
	peer: Peer | null;
	direction: 'outgoing' | 'incoming';
	remoteId: string;
	callId: string;
	/** The incoming MediaConnection (callee only). */
	incoming: MediaConnection | null;
}

/**
 * Commands:
 * - `media.dial { stream }`: caller places the call with this stream (camera video + mic).
 * - `media.answer { stream }`: callee answers with this stream.
 * - `media.replaceTrack { track }`: swap the outgoing video (flip) without a new offer.
 * - `media.close`: hang up.
 */
export type MediaCommand =
	| { type: 'media.dial'; stream: MediaStream }
	| { type: 'media.answer'; stream: MediaStream }
	| { type: 'media.redial'; stream: MediaStream }
	| { type: 'media.adopt'; call: MediaConnection; stream: MediaStream }
	| { type: 'media.replaceTrack'; track: MediaStreamTrack | null }
	| { type: 'media.close' };

/**
 * Events sent back:
 * - `media.pc { pc }`: a new RTCPeerConnection exists (caller: right after peer.call();
 *   callee: only after answer()); the call machine starts the ICE machine on it.
 * - `media.signalingState { state }`: the pc's signalingState after each change, so
 *   have-local-offer / have-remote-offer / stable are states in the chart.
 * - `media.remoteStream { stream }`: the far side's media arrived.
 * - `media.closed`: PeerJS closed the call (the far side hung up, or its tab closed).
 * - `media.error { message }`: PeerJS reported an error on this call.
 */
export type MediaEvent =
	| { type: 'media.pc'; pc: RTCPeerConnection }
	| { type: 'media.signalingState'; state: RTCSignalingState }
	| { type: 'media.remoteStream'; stream: MediaStream }
	| { type: 'media.closed' }
	| { type: 'media.error'; message: string };

/**
 * Commands besides dial/answer/close: `media.redial { stream }` (caller, recovery: drop the dead
 * connection quietly and call again with the same callId) and `media.adopt { call, stream }`
 * (callee, recovery: answer the caller's re-dial in place of the dead connection).
 */
export const mediaCall = fromCallback<MediaCommand, MediaCallInput>(({ input, sendBack, receive }) => {
	let conn: MediaConnection | null = input.incoming;
	let pc: RTCPeerConnection | null = null;
	let stopped = false;
	const send = (e: MediaEvent) => {
		if (!stopped) sendBack(e);
	};
	const onSignaling = () => pc && send({ type: 'media.signalingState', state: pc.signalingState });

	const observePc = () => {
		const next = conn?.peerConnection ?? null;
		if (!next || next === pc) return;
		pc = next;
		pc.addEventListener('signalingstatechange', onSignaling);
		send({ type: 'media.pc', pc });
		onSignaling();
	};
	const attach = (c: MediaConnection) => {
		c.on('stream', (stream) => send({ type: 'media.remoteStream', stream }));
		c.on('close', () => {
			if (c === conn) send({ type: 'media.closed' });
		});
		c.on('error', (err) => {
			if (c === conn) send({ type: 'media.error', message: err.message });
		});
	};
	/** Lets go of the current connection without telling the machine (it asked for this). */
	const release = () => {
		pc?.removeEventListener('signalingstatechange', onSignaling);
		const old = conn;
		const oldPc = pc;
		conn = null;
		pc = null;
		old?.removeAllListeners();
		old?.close();
		if (oldPc && oldPc.signalingState !== 'closed') oldPc.close();
	};
	const dial = (stream: MediaStream) => {
		if (!input.peer || input.peer.destroyed) {
			send({ type: 'media.error', message: 'Not connected to the signaling server.' });
			return;
		}
		conn = input.peer.call(input.remoteId, stream, { metadata: { callId: input.callId } });
		if (!conn) {
			send({ type: 'media.error', message: 'The call could not be placed.' });
			return;
		}
		attach(conn);
		observePc();
	};
	if (conn) attach(conn);

	receive((command) => {
		switch (command.type) {
			case 'media.dial':
				if (!conn) dial(command.stream);
				break;
			case 'media.redial':
				release();
				dial(command.stream);
				break;
			case 'media.answer':
				if (!conn) return;
				conn.answer(command.stream);
				observePc();
				break;
			case 'media.adopt':
				release();
				conn = command.call;
				attach(conn);
				conn.answer(command.stream);
				observePc();
				break;
			case 'media.replaceTrack': {
				if (!command.track) return;
				// By the receiver's kind: the sender's own track may be the stopped old camera.
				const sender = pc?.getTransceivers().find((t) => t.receiver.track?.kind === 'video')?.sender;
				void sender?.replaceTrack(command.track).catch((err: Error) =>
					send({ type: 'media.error', message: err.message })
				);
				break;
			}
			case 'media.close':
				conn?.close();
				break;
		}
	});

	return () => {
		stopped = true;
		release();
	};
});
