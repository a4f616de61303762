/**
 * The media call actor: owns one PeerJS MediaConnection and therefore one RTCPeerConnection.
 * It observes the pc with addEventListener only (PeerJS owns the pc's `on*` properties), and
 * removes every listener and closes the connection when it stops.
 *
 * It also speaks a small in-call protocol on the data channel PeerJS opens inside every media
 * call: a heartbeat each second (so the far side can tell "nothing sent" — camera off, no
 * microphone — from "path dead") and the camera and microphone state. Every message from the
 * far side is bounded and checked before it becomes an event.
 */
import { fromCallback } from 'xstate';
import type { MediaConnection, Peer } from 'peerjs';
import { useCertificate } from './call-extras';

export interface MediaCallInput {
	peer: Peer | null;
	direction: 'outgoing' | 'incoming';
	remoteId: string;
	callId: string;
	/** The incoming MediaConnection (callee only). */
	incoming: MediaConnection | null;
	/** Our display name: the caller sends it in the call's metadata, the callee on the call's
	 * data channel once it opens ('' sends nothing). */
	localName?: string;
}

/**
 * Commands (dial, answer, redial and adopt carry this device's `certificate`, when there is
 * one: the new pc gets it, so the safety code is the same on every call between two devices):
 * - `media.dial { stream }`: caller places the call with this stream (camera video + mic).
 * - `media.answer { stream }`: callee answers with this stream.
 * - `media.redial { stream }`: caller, recovery: call again with the same callId. The old
 *   connection is silenced at once but closed only once the new one is answered (or fails), so a
 *   far side that never noticed the loss adopts the re-dial instead of reading the old
 *   connection's close as a hang-up.
 * - `media.adopt { call, stream }`: callee, recovery: answer the caller's re-dial in place of the
 *   old connection.
 * - `media.replaceTrack { track }`: the camera changed (flip): swap the outgoing video without a
 *   new offer.
 * - `media.camera { off }`: stop or resume sending video (the preview and shutter keep the
 *   camera); the far side is told.
 * - `media.mic { muted }`: the far side is told (the call machine disables the track itself).
 * - `media.release`: close the connection and its pc now (the call is over).
 * - `media.close`: hang up (PeerJS tells the far side).
 */
export type MediaCommand =
	| { type: 'media.dial'; stream: MediaStream; certificate?: RTCCertificate | null }
	| { type: 'media.answer'; stream: MediaStream; certificate?: RTCCertificate | null }
	| { type: 'media.redial'; stream: MediaStream; certificate?: RTCCertificate | null }
	| { type: 'media.adopt'; call: MediaConnection; stream: MediaStream; certificate?: RTCCertificate | null }
	| { type: 'media.replaceTrack'; track: MediaStreamTrack | null }
	| { type: 'media.camera'; off: boolean }
	| { type: 'media.mic'; muted: boolean }
	| { type: 'media.release' }
	| { type: 'media.close' };

/**
 * Events sent back:
 * - `media.pc { pc }`: a new RTCPeerConnection exists (caller: right after peer.call();
 *   callee: only after answer()); the call machine starts the ICE machine on it.
 * - `media.signalingState { state }`: the pc's signalingState after each real
 *   `signalingstatechange` (never the new pc's initial `stable`), so have-local-offer /
 *   have-remote-offer / stable are states in the chart.
 * - `media.remoteStream { stream }`: the far side's media arrived.
 * - `media.alive`: the far side's heartbeat (the connection works even if no media flows).
 * - `media.remoteCamera { off }` / `media.remoteMic { muted }`: the far side's camera or
 *   microphone was turned off or on.
 * - `media.closed`: PeerJS closed the call (the far side hung up, or its tab closed).
 * - `media.error { message }`: PeerJS reported an error on this call.
 */
export type MediaEvent =
	| { type: 'media.pc'; pc: RTCPeerConnection }
	| { type: 'media.signalingState'; state: RTCSignalingState }
	| { type: 'media.remoteStream'; stream: MediaStream }
	| { type: 'media.alive' }
	| { type: 'media.remoteCamera'; off: boolean }
	| { type: 'media.remoteMic'; muted: boolean }
	| { type: 'media.remoteName'; name: string }
	| { type: 'media.closed' }
	| { type: 'media.error'; message: string };

/** How often the heartbeat goes out on the call's data channel. */
export const heartbeatMs = 1000;
/** The longest in-call message accepted from the far side. */
const maxMessageChars = 256;

/** One message of the in-call protocol, or null when the far side sent anything else. */
export function parseCallMessage(
	data: unknown
): { t: 'alive' } | { t: 'cam'; off: boolean } | { t: 'mic'; muted: boolean } | { t: 'name'; name: string } | null {
	if (typeof data !== 'string' || data.length > maxMessageChars) return null;
	let m: unknown;
	try {
		m = JSON.parse(data);
	} catch {
		return null;
	}
	if (!m || typeof m !== 'object') return null;
	const v = m as Record<string, unknown>;
	if (v.t === 'alive') return { t: 'alive' };
	if (v.t === 'cam' && typeof v.off === 'boolean') return { t: 'cam', off: v.off };
	if (v.t === 'mic' && typeof v.muted === 'boolean') return { t: 'mic', muted: v.muted };
	if (v.t === 'name' && typeof v.name === 'string') return { t: 'name', name: v.name };
	return null;
}

export const mediaCall = fromCallback<MediaCommand, MediaCallInput>(({ input, sendBack, receive }) => {
	let conn: MediaConnection | null = input.incoming;
	let pc: RTCPeerConnection | null = null;
	let channel: RTCDataChannel | null = null;
	let heartbeat: ReturnType<typeof setInterval> | undefined;
	/** Silenced old connections of a re-dial, closed once the new one is answered. */
	let superseded: (() => void)[] = [];
	let cameraTrack: MediaStreamTrack | null = null;
	/** Whether the stream we send has a microphone track (none: no microphone, or refused). */
	let hasMic = false;
	let cameraOff = false;
	let micMuted = false;
	let stopped = false;
	const send = (e: MediaEvent) => {
		if (!stopped) sendBack(e);
	};

	const say = (message: object) => {
		if (channel?.readyState === 'open') {
			try {
				channel.send(JSON.stringify(message));
			} catch {
				/* closing: the heartbeat stops with it */
			}
		}
	};
	const onChannelOpen = () => {
		clearInterval(heartbeat);
		// Nothing to send (no camera, no microphone) reads as off and muted on the far side, not
		// as a stalled stream.
		say({ t: 'cam', off: cameraOff || !cameraTrack });
		say({ t: 'mic', muted: micMuted || !hasMic });
		if (input.direction === 'incoming' && input.localName) say({ t: 'name', name: input.localName });
		say({ t: 'alive' });
		heartbeat = setInterval(() => say({ t: 'alive' }), heartbeatMs);
	};
	const onChannelMessage = (e: MessageEvent) => {
		const m = parseCallMessage(e.data);
		if (m?.t === 'alive') send({ type: 'media.alive' });
		else if (m?.t === 'cam') send({ type: 'media.remoteCamera', off: m.off });
		else if (m?.t === 'mic') send({ type: 'media.remoteMic', muted: m.muted });
		else if (m?.t === 'name' && input.direction === 'outgoing') send({ type: 'media.remoteName', name: m.name });
	};
	const useChannel = (next: RTCDataChannel | undefined | null) => {
		if (!next || next === channel) return;
		dropChannel();
		channel = next;
		channel.addEventListener('open', onChannelOpen);
		channel.addEventListener('message', onChannelMessage);
		if (channel.readyState === 'open') onChannelOpen();
	};
	const dropChannel = () => {
		clearInterval(heartbeat);
		channel?.removeEventListener('open', onChannelOpen);
		channel?.removeEventListener('message', onChannelMessage);
		channel = null;
	};

	const onSignaling = () => {
		if (!pc) return;
		send({ type: 'media.signalingState', state: pc.signalingState });
		// The re-dial was answered: the far side has adopted it, the old connection can go.
		if (pc.signalingState === 'stable') closeSuperseded();
	};
	const onDataChannel = (e: RTCDataChannelEvent) => useChannel(e.channel);

	const observePc = () => {
		const next = conn?.peerConnection ?? null;
		if (!next || next === pc) return;
		pc = next;
		pc.addEventListener('signalingstatechange', onSignaling);
		pc.addEventListener('datachannel', onDataChannel);
		send({ type: 'media.pc', pc });
		// The caller's channel exists at once (PeerJS creates it with the offer).
		useChannel((conn as MediaConnection & { dataChannel?: RTCDataChannel }).dataChannel);
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
	/** Detaches from the current connection without telling the machine (it asked for this),
	 * and returns what closes it. */
	const detach = (): (() => void) => {
		pc?.removeEventListener('signalingstatechange', onSignaling);
		pc?.removeEventListener('datachannel', onDataChannel);
		dropChannel();
		const old = conn;
		const oldPc = pc;
		conn = null;
		pc = null;
		old?.removeAllListeners();
		return () => {
			try {
				old?.close();
			} catch {
				/* PeerJS may throw on a connection it already tore down */
			}
			if (oldPc && oldPc.signalingState !== 'closed') oldPc.close();
		};
	};
	const closeSuperseded = () => {
		for (const close of superseded) close();
		superseded = [];
	};
	const release = () => {
		detach()();
		closeSuperseded();
	};
	/** The stream a new pc starts with; with the camera off its video slot is emptied at once
	 * (replaceTrack works before negotiation ends), so the m-line is still negotiated. */
	const outgoing = (stream: MediaStream) => {
		cameraTrack = stream.getVideoTracks()[0] ?? null;
		hasMic = stream.getAudioTracks().length > 0;
		return stream;
	};
	const afterNewPc = () => {
		observePc();
		if (cameraOff) sendVideo(null);
	};
	const dial = (stream: MediaStream) => {
		if (!input.peer || input.peer.destroyed) {
			send({ type: 'media.error', message: 'Not connected to the signaling server.' });
			return;
		}
		try {
			conn =
				input.peer.call(input.remoteId, outgoing(stream), {
					metadata: input.localName ? { callId: input.callId, name: input.localName } : { callId: input.callId },
					// Receive both even when this side sends neither (no camera, no microphone).
					// PeerJS passes `constraints` to createOffer; its types leave it out.
					constraints: { offerToReceiveAudio: true, offerToReceiveVideo: true }
				} as Parameters<Peer['call']>[2]) ?? null;
		} catch {
			conn = null;
		}
		if (!conn) {
			send({ type: 'media.error', message: 'The call could not be placed.' });
			return;
		}
		attach(conn);
		afterNewPc();
	};
	const videoSender = () =>
		// By the receiver's kind: the sender's own track may be null (camera off) or the stopped
		// old camera.
		pc?.getTransceivers().find((t) => t.receiver.track?.kind === 'video')?.sender;
	const sendVideo = (track: MediaStreamTrack | null) => {
		void videoSender()
			?.replaceTrack(track)
			.catch((err: Error) => send({ type: 'media.error', message: err.message }));
	};
	if (conn) attach(conn);

	receive((command) => {
		if ('certificate' in command) useCertificate(input.peer as never, command.certificate ?? null);
		switch (command.type) {
			case 'media.dial':
				if (!conn) dial(command.stream);
				break;
			case 'media.redial':
				superseded.push(detach());
				dial(command.stream);
				break;
			case 'media.answer':
				if (!conn) return;
				conn.answer(outgoing(command.stream));
				afterNewPc();
				break;
			case 'media.adopt':
				release();
				conn = command.call;
				attach(conn);
				conn.answer(outgoing(command.stream));
				afterNewPc();
				break;
			case 'media.replaceTrack':
				if (!command.track) return;
				cameraTrack = command.track;
				if (!cameraOff) sendVideo(command.track);
				break;
			case 'media.camera':
				if (command.off === cameraOff) return;
				cameraOff = command.off;
				sendVideo(cameraOff ? null : cameraTrack);
				say({ t: 'cam', off: cameraOff || !cameraTrack });
				break;
			case 'media.mic':
				micMuted = command.muted;
				say({ t: 'mic', muted: micMuted || !hasMic });
				break;
			case 'media.release':
				release();
				break;
			case 'media.close':
				try {
					conn?.close();
				} catch {
					/* already torn down */
				}
				break;
		}
	});

	return () => {
		stopped = true;
		release();
	};
});
