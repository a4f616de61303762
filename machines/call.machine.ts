import { assign, enqueueActions, sendParent, sendTo, setup, type ActorRefFrom } from 'xstate';
import type { DataConnection, MediaConnection, Peer } from 'peerjs';
import { callFailure, type CallEndReason, type Failure } from './errors';
import { mediaCall, type MediaEvent } from './actors/call';
import { microphone, type MicEvent } from './actors/microphone';
import { sendControl, type ControlMessage } from './actors/signaling';
import { iceMachine } from './ice.machine';
import { ring, ringBack } from './actors/alert';
import { cleanName } from './actors/profile';
import { mediaSession, wakeLock, type CallControlsState } from './actors/device';
import { callExtras, deviceCertificate, type ExtrasEvent } from './actors/call-extras';
import type { safetyMachine } from './safety.machine';
import type { chatMachine } from './chat.machine';

/** For the session: loads what the first call would wait for (actors/call-extras.ts). */
export { prepareCalls } from './actors/call-extras';

export interface CallInput {
	direction: 'outgoing' | 'incoming';
	/** The far side's peer ID. */
	remoteId: string;
	/** Random per call, carried in the call's metadata; control messages name it. */
	callId: string;
	peer: Peer | null;
	/** The camera stream at call time (video only); its track is replaced on flip, and on
	 * WebKit by the camera reopened with the microphone. */
	localStream: MediaStream | null;
	incoming?: MediaConnection | null;
	/** Our display name, told to the far side ('' for none). */
	localName?: string;
}

/**
 * Events from the UI: `call.accept`, `call.decline`, `call.hangup`, `call.toggleMic`,
 * `call.toggleCamera`.
 * From the session: `call.localStream { stream }` (camera flipped or restarted: replaceTrack),
 * `call.control { message }` (the far side declined, is busy, or cancelled),
 * `call.peerUnavailable` (the server knows no such ID),
 * `call.redial { call }` (the caller's re-dial of this call during recovery: same callId/peer),
 * `call.webrtcError { message }` (PeerJS reported a negotiation failure on the Peer:
 * setRemoteDescription, createAnswer, addIceCandidate), `call.chat { from, conn, offer }` (a
 * chat connection: passed to the chat while connected, else closed unanswered).
 * From children: `media.*` (actors/call.ts), `mic.*` (actors/media.ts), `ice.*`
 * (ice.machine.ts), `certificate.*` and `extras.*` (actors/call-extras.ts); the system's call controls (`mediaSession`, actors/device.ts) send the UI's
 * own `call.hangup`, `call.toggleMic` and `call.toggleCamera`.
 */
export type CallEvent =
	| MediaEvent
	| MicEvent
	| ExtrasEvent
	| { type: 'call.accept' }
	| { type: 'call.decline' }
	| { type: 'call.hangup' }
	| { type: 'call.toggleMic' }
	| { type: 'call.toggleCamera' }
	| { type: 'call.localStream'; stream: MediaStream | null }
	| { type: 'call.control'; message: ControlMessage }
	| { type: 'call.peerUnavailable' }
	| { type: 'call.redial'; call: MediaConnection }
	| { type: 'call.webrtcError'; message: string }
	| { type: 'call.chat'; from: string; conn: DataConnection; offer: unknown }
	| { type: 'ice.connected' }
	| { type: 'ice.disconnected' }
	| { type: 'ice.failed' }
	| { type: 'ice.stalled' }
	| { type: 'ice.resumed' }
	| { type: 'ice.candidateError'; message: string };

/**
 * For the session's capture machine, which keeps the camera through the call's microphone
 * request (it opens as the call enters setup; actors/microphone-io.ts): `call.micOpened {
 * stream }`, sent whenever the call leaves the microphone step (opened, refused, or hung up
 * first), with the camera stream the call now sends: on WebKit the camera reopened with the
 * microphone, for the capture machine to keep; else the capture machine's own.
 */
export type CallMicReport = { type: 'call.micOpened'; stream: MediaStream | null };

/**
 * Where the call is, for the session's own chart (it routes incoming calls, re-dials, control
 * messages and photos by it): `call.phase { phase }`, sent on entering each phase.
 */
export type CallPhase = 'ringing' | 'setup' | 'connected' | 'recovering';

/** Re-dials the caller makes before recovery gives up. */
export const recoveryLimit = 2;

export interface CallContext {
	direction: 'outgoing' | 'incoming';
	remoteId: string;
	callId: string;
	peer: Peer | null;
	incoming: MediaConnection | null;
	localStream: MediaStream | null;
	micTrack: MediaStreamTrack | null;
	remoteStream: MediaStream | null;
	signalingState: RTCSignalingState | null;
	micMuted: boolean;
	cameraOff: boolean;
	/** The far side turned its camera off (it said so on the call's data channel). */
	remoteCameraOff: boolean;
	remoteMicMuted: boolean;
	/** False when the microphone could not be opened: the call goes on with video only. */
	micAvailable: boolean;
	/** Re-dials made to recover this call. */
	recoveries: number;
	failure: Failure<CallEndReason> | null;
	localName: string;
	/** The far side's display name ('' until it says, or if it has none): the caller's comes
	 * in the call's metadata, the callee's on the call's data channel. Cleaned (cleanName). */
	remoteName: string;
	/** When the call was created, and first connected (ms since epoch): recents and the
	 * ended screen's duration. */
	startedAt: number;
	connectedAt: number | null;
	/** When it ended (or failed): the ended screen's and the recents' duration. */
	endedAt: number | null;
	/** The ICE machine of the current pc (spawned with id and systemId `ice`). */
	ice: ActorRefFrom<typeof iceMachine> | null;
	/** The current RTCPeerConnection (media.pc): the safety code is read from it. */
	pc: RTCPeerConnection | null;
	/** False until the microphone opened or could not (mic.ready / mic.unavailable). */
	micSettled: boolean;
	/** This device's certificate, given to every pc so the safety code stays the same from call
	 * to call; null until it loads, or where none can be had. */
	certificate: RTCCertificate | null;
	certificateSettled: boolean;
	/** The safety code's machine (id and systemId `safety`), once its code has loaded. */
	safety: ActorRefFrom<typeof safetyMachine> | null;
	/** The chat (id and systemId `chat`), likewise; it goes with the call. */
	chat: ActorRefFrom<typeof chatMachine> | null;
}

/** What the system's call controls show (actors/device.ts). */
function controlsState(context: CallContext): CallControlsState {
	return { micMuted: context.micMuted, cameraOff: context.cameraOff, micAvailable: context.micAvailable };
}

/** In every state of a call that has begun: the system's hang-up, microphone and camera
 * controls, cleared when the call is over. */
const systemControls = { src: 'mediaSession', id: 'mediaSession', input: ({ context }: { context: CallContext }) => controlsState(context) } as const;
/** In the states that invoke `systemControls`: the controls hear each change they show. */
const toldToSystemControls = {
	'call.toggleMic': { actions: ['toggleMic', 'syncMediaSession'] },
	'call.toggleCamera': { actions: ['toggleCamera', 'syncMediaSession'] }
} as const;
/** From answer to the end of the call (connecting, connected, recovering): the screen stays on. */
const screenOn = { src: 'wakeLock', id: 'wakeLock' } as const;

function refuseConn(conn: DataConnection): void {
	try {
		conn.close();
	} catch {
		/* already closed */
	}
}

function outgoingStream(context: CallContext): MediaStream {
	const tracks = [...(context.localStream?.getVideoTracks() ?? [])];
	if (context.micTrack) tracks.push(context.micTrack);
	return new MediaStream(tracks);
}

/**
 * The offer/answer steps, each entered only on the pc's real signalingstatechange; the same
 * names on first dial, re-dial and adopted re-dial. `afterAnswer`: where the caller goes once the
 * answer is set (stable).
 */
function offerSteps(afterAnswer: string, dial: boolean) {
	return {
		offering: {
			entry: dial ? ('dial' as const) : undefined,
			description: 'new RTCPeerConnection → createOffer → setLocalDescription',
			on: {
				'media.signalingState': {
					guard: { type: 'signalingIs', params: 'have-local-offer' },
					target: 'haveLocalOffer',
					actions: 'assignSignalingState'
				}
			}
		},
		haveLocalOffer: {
			description: 'Offer sent through signaling; the far side is ringing (or adopting a re-dial)',
			on: {
				'media.signalingState': {
					guard: { type: 'signalingIs', params: 'stable' },
					target: afterAnswer,
					actions: 'assignSignalingState',
					description: 'Answer arrived → setRemoteDescription'
				}
			}
		}
	} as const;
}

/** The caller's steps of a first dial. */
const dialSteps = offerSteps('#call.connecting.ice', true);

/** The callee's steps after answer(). */
const answerSteps = {
	answering: {
		description: 'answer(): setRemoteDescription(offer) → createAnswer → setLocalDescription',
		on: {
			'media.signalingState': {
				guard: { type: 'signalingIs', params: 'have-remote-offer' },
				target: 'haveRemoteOffer',
				actions: 'assignSignalingState'
			}
		}
	},
	haveRemoteOffer: {
		on: {
			'media.signalingState': {
				guard: { type: 'signalingIs', params: 'stable' },
				target: 'ice',
				actions: 'assignSignalingState',
				description: 'Local answer set; answer sent back'
			}
		}
	},
	ice: { description: 'Offer/answer done; waiting for ICE to connect' }
} as const;

export const callMachine = setup({
	types: {
		context: {} as CallContext,
		events: {} as CallEvent,
		input: {} as CallInput
	},
	actors: { mediaCall, microphone, ice: iceMachine, ring, ringBack, wakeLock, mediaSession, deviceCertificate, callExtras },
	guards: {
		isOutgoing: ({ context }) => context.direction === 'outgoing',
		readyToNegotiate: ({ context }) => context.micSettled && context.certificateSettled,
		canRedial: ({ context }) => context.direction === 'outgoing' && context.recoveries < recoveryLimit,
		signalingIs: ({ event }, state: RTCSignalingState) =>
			event.type === 'media.signalingState' && event.state === state,
		controlIs: ({ event }, type: ControlMessage['type']) =>
			event.type === 'call.control' && event.message.type === type,
		cancelledForTimeout: ({ event }) =>
			event.type === 'call.control' && event.message.type === 'cancel' && event.message.why === 'timeout'
	},
	delays: {
		/** How long an outgoing call rings before giving up (and how long we ring). */
		ringTimeout: 30_000,
		/** From accept (or the answer) to a working path: past it the call fails instead of
		 * sitting in `connecting` with a live microphone and an open pc. */
		connectTimeout: 20_000,
		/** How long `recovering` waits for the media path to come back before (and between)
		 * re-dials. */
		recoverGrace: 5000,
		/** Recovery's hard limit: entered ~3 s after the loss, so the call ends within 20 s. */
		recoveryDeadline: 15_000
	},
	actions: {
		/** Records how the call ends; the final state's entry then releases everything. */
		end: assign((_, reason: CallEndReason) => ({ failure: callFailure(reason), endedAt: Date.now() })),
		/** Opens the microphone (on WebKit with the camera: actors/microphone.ts). */
		openMic: sendTo('mic', ({ context }) => ({ type: 'mic.open' as const, camera: context.localStream })),
		/** Swapped in unit tests: the microphone step is over; the camera stream the call sends
		 * goes to the capture machine (through the session), to keep if it is a new one. */
		reportMicOpened: sendParent(({ context }) => ({ type: 'call.micOpened', stream: context.localStream })),
		dial: sendTo('media', ({ context }) => ({ type: 'media.dial' as const, stream: outgoingStream(context), certificate: context.certificate })),
		answer: sendTo('media', ({ context }) => ({ type: 'media.answer' as const, stream: outgoingStream(context), certificate: context.certificate })),
		closeMedia: sendTo('media', { type: 'media.close' }),
		redial: sendTo('media', ({ context }) => ({ type: 'media.redial' as const, stream: outgoingStream(context), certificate: context.certificate })),
		adoptRedial: sendTo('media', ({ context, event }) => ({
			type: 'media.adopt' as const,
			call: (event as Extract<CallEvent, { type: 'call.redial' }>).call,
			stream: outgoingStream(context),
			certificate: context.certificate
		})),
		countRecovery: assign({ recoveries: ({ context }) => context.recoveries + 1 }),
		assignMic: assign(({ context, event }) => ({
			micTrack: event.type === 'mic.ready' ? event.track : null,
			micAvailable: event.type === 'mic.ready',
			micSettled: true,
			// The camera reopened with the microphone (WebKit): the offer or answer sends its track.
			// Stryker disable next-line ConditionalExpression: mic.unavailable has no camera; the check narrows the type
			localStream: (event.type === 'mic.ready' && event.camera) || context.localStream
		})),
		/** The safety and chat machines' code arrived: they wait for the call to connect. */
		spawnExtras: assign(({ context, event, spawn }) => {
			if (event.type !== 'extras.loaded' || context.safety) return {};
			// setup() types spawn for the sources it declares; this logic arrived by import().
			const spawnLogic = spawn as unknown as (logic: unknown, options: object) => never;
			return {
				safety: spawnLogic(event.safety, { id: 'safety', systemId: 'safety', input: { remoteId: context.remoteId } }),
				chat: spawnLogic(event.chat, {
					id: 'chat',
					systemId: 'chat',
					input: { peer: context.peer, direction: context.direction, remoteId: context.remoteId, callId: context.callId }
				})
			};
		}),
		/** Connected (again after a re-dial's new pc): the safety code of the current pc, and
		 * the caller opens the chat if it is not open. */
		extrasConnected: enqueueActions(({ context, enqueue }) => {
			if (context.safety) enqueue.sendTo(context.safety, { type: 'safety.check', pc: context.pc });
			if (context.chat) enqueue.sendTo(context.chat, { type: 'chat.connect' });
		}),
		/** A chat connection while connected: the chat takes it or closes it. */
		toChat: enqueueActions(({ context, event, enqueue }) => {
			if (event.type !== 'call.chat') return;
			if (context.chat) enqueue.sendTo(context.chat, { ...event, type: 'chat.incoming' });
			else refuseConn(event.conn);
		}),
		refuseChat: ({ event }) => {
			if (event.type === 'call.chat') refuseConn(event.conn);
		},
		assignSignalingState: assign({
			signalingState: ({ event }) => (event.type === 'media.signalingState' ? event.state : null)
		}),
		startIce: enqueueActions(({ context, enqueue }) => {
			if (context.ice) enqueue.stopChild(context.ice);
			enqueue.assign({
				ice: ({ event, spawn }) =>
					spawn('ice', { id: 'ice', systemId: 'ice', input: { pc: (event as Extract<CallEvent, { type: 'media.pc' }>).pc } })
			});
		}),
		stopIce: enqueueActions(({ context, enqueue }) => {
			if (!context.ice) return;
			enqueue.stopChild(context.ice);
			enqueue.assign({ ice: null });
		}),
		/** Closes the pc now, so the ICE machine's `closed` is the pc's real state. */
		closePc: enqueueActions(({ context, enqueue }) => {
			enqueue.sendTo('media', { type: 'media.release' });
			if (context.ice) enqueue.sendTo(context.ice, { type: 'ice.close' });
		}),
		peerAlive: enqueueActions(({ context, enqueue }) => {
			if (context.ice) enqueue.sendTo(context.ice, { type: 'ice.peerAlive' });
		}),
		replaceTrack: sendTo('media', ({ event }) => ({
			type: 'media.replaceTrack' as const,
			track: event.type === 'call.localStream' ? (event.stream?.getVideoTracks()[0] ?? null) : null
		})),
		assignLocalStream: assign(({ context, event }) => ({
			localStream: event.type === 'call.localStream' ? event.stream : context.localStream
		})),
		/** Tells the system's call controls what the microphone and camera are (only in the
		 * states that run them). */
		syncMediaSession: sendTo('mediaSession', ({ context }) => ({ type: 'mediaSession.state' as const, state: controlsState(context) })),
		toggleMic: enqueueActions(({ context, enqueue }) => {
			const micMuted = !context.micMuted;
			if (context.micTrack) context.micTrack.enabled = !micMuted;
			enqueue.assign({ micMuted });
			enqueue.sendTo('media', { type: 'media.mic', muted: micMuted });
		}),
		/** Camera off stops sending video; the preview and the shutter keep the camera (it is
		 * the capture machine's), and the far side is told. */
		toggleCamera: enqueueActions(({ context, enqueue }) => {
			const cameraOff = !context.cameraOff;
			enqueue.assign({ cameraOff });
			enqueue.sendTo('media', { type: 'media.camera', off: cameraOff });
		}),
		sendDecline: ({ context }) => sendControl(context.peer, context.remoteId, { type: 'decline', callId: context.callId }),
		/** `timeout`: nobody answered (the callee's missed call says so), else we hung up. */
		sendCancel: ({ context }, why: 'timeout' | 'hangup') =>
			sendControl(context.peer, context.remoteId, { type: 'cancel', callId: context.callId, ...(why === 'timeout' ? { why } : {}) }),
		/** Swapped in unit tests: lets the session follow the call in its own chart. */
		reportPhase: sendParent((_, phase: CallPhase) => ({ type: 'call.phase', phase })),
		/** Swapped in unit tests: lets the session record how the call ended. */
		reportEnded: sendParent(({ context }) => ({ type: 'call.ended', callId: context.callId, failure: context.failure }))
	}
}).createMachine({
	id: 'call',
	context: ({ input }) => ({
		direction: input.direction,
		remoteId: input.remoteId,
		callId: input.callId,
		peer: input.peer,
		incoming: input.incoming ?? null,
		localStream: input.localStream,
		micTrack: null,
		remoteStream: null,
		signalingState: null,
		micMuted: false,
		cameraOff: false,
		remoteCameraOff: false,
		remoteMicMuted: false,
		micAvailable: true,
		recoveries: 0,
		failure: null,
		ice: null,
		localName: cleanName(input.localName),
		remoteName: cleanName((input.incoming?.metadata as { name?: unknown } | null | undefined)?.name),
		startedAt: Date.now(),
		connectedAt: null,
		endedAt: null,
		pc: null,
		micSettled: false,
		certificate: null,
		certificateSettled: false,
		safety: null,
		chat: null
	}),
	invoke: [
		{
			src: 'mediaCall',
			id: 'media',
			input: ({ context }) => ({
				peer: context.peer,
				direction: context.direction,
				remoteId: context.remoteId,
				callId: context.callId,
				incoming: context.incoming,
				localName: context.localName
			})
		},
		// Lives as long as the call: whatever ends it, the microphone's track is stopped.
		{ src: 'microphone', id: 'mic' },
		// Both from the start, so neither delays the offer or the answer.
		{ src: 'deviceCertificate', id: 'certificate' },
		{ src: 'callExtras', id: 'extras' }
	],
	on: {
		'media.pc': { actions: ['startIce', assign({ pc: ({ event }) => event.pc })] },
		'certificate.ready': { actions: assign({ certificate: ({ event }) => event.certificate, certificateSettled: true }) },
		'certificate.none': { actions: assign({ certificateSettled: true }) },
		'extras.loaded': { actions: 'spawnExtras' },
		// A chat before the call is connected: closed unanswered.
		'call.chat': { actions: 'refuseChat' },
		'media.signalingState': { actions: 'assignSignalingState' },
		'media.remoteStream': { actions: assign({ remoteStream: ({ event }) => event.stream }) },
		'media.alive': { actions: 'peerAlive' },
		'media.remoteCamera': { actions: assign({ remoteCameraOff: ({ event }) => event.off }) },
		'media.remoteMic': { actions: assign({ remoteMicMuted: ({ event }) => event.muted }) },
		'media.remoteName': { actions: assign({ remoteName: ({ event }) => cleanName(event.name) }) },
		'call.localStream': { actions: ['assignLocalStream', 'replaceTrack'] },
		'call.toggleMic': { actions: 'toggleMic' },
		'call.toggleCamera': { actions: 'toggleCamera' },
		'media.error': { target: '.failed', actions: { type: 'end', params: 'media-error' } }
	},
	initial: 'idle',
	states: {
		idle: {
			always: [
				{ guard: 'isOutgoing', target: 'calling' },
				{ target: 'ringing', description: 'An incoming call: never auto-answered' }
			]
		},
		calling: {
			initial: 'microphone',
			entry: { type: 'reportPhase', params: 'setup' },
			after: {
				ringTimeout: { target: 'ended', actions: [{ type: 'end', params: 'no-answer' }, { type: 'sendCancel', params: 'timeout' }] }
			},
			invoke: systemControls,
			on: {
				...toldToSystemControls,
				'call.hangup': { target: 'ended', actions: [{ type: 'end', params: 'hung-up' }, { type: 'sendCancel', params: 'hangup' }, 'closeMedia'] },
				'call.control': [
					{ guard: { type: 'controlIs', params: 'decline' }, target: 'ended', actions: { type: 'end', params: 'declined' } },
					{ guard: { type: 'controlIs', params: 'busy' }, target: 'ended', actions: { type: 'end', params: 'busy' } }
				],
				'call.peerUnavailable': { target: 'failed', actions: { type: 'end', params: 'peer-unavailable' } },
				'call.webrtcError': { target: 'failed', actions: { type: 'end', params: 'negotiation-failed' } },
				'ice.failed': { target: 'failed', actions: { type: 'end', params: 'connection-lost' } }
			},
			states: {
				microphone: {
					entry: 'openMic',
					exit: 'reportMicOpened',
					description: 'The microphone opens at call time, never on the camera screen',
					always: { guard: 'readyToNegotiate', target: 'offering' },
					on: {
						'mic.ready': { actions: ['assignMic', 'syncMediaSession'] },
						'mic.unavailable': { actions: ['assignMic', 'syncMediaSession'], description: 'No microphone: a video-only call' }
					}
				},
				...dialSteps,
				haveLocalOffer: {
					...dialSteps.haveLocalOffer,
					// Once the offer is out, when the far side can ring: not while the microphone
					// opens and the offer is made, which the tone's start-up would slow down.
					invoke: { src: 'ringBack', id: 'ringBack' }
				}
			}
		},
		ringing: {
			entry: { type: 'reportPhase', params: 'ringing' },
			invoke: { src: 'ring', id: 'ring', input: ({ context }) => ({ from: context.remoteName || context.remoteId }) },
			after: {
				ringTimeout: { target: 'ended', actions: { type: 'end', params: 'missed' } }
			},
			on: {
				'call.accept': '#call.connecting',
				'call.decline': { target: 'ended', actions: [{ type: 'end', params: 'declined-by-me' }, 'sendDecline', 'closeMedia'] },
				'call.hangup': { target: 'ended', actions: [{ type: 'end', params: 'declined-by-me' }, 'sendDecline', 'closeMedia'] },
				'call.control': [
					{
						guard: 'cancelledForTimeout',
						target: 'ended',
						actions: { type: 'end', params: 'missed' },
						description: "Nobody answered in the caller's time"
					},
					{
						guard: { type: 'controlIs', params: 'cancel' },
						target: 'ended',
						actions: { type: 'end', params: 'missed-cancelled' },
						description: 'The caller hung up while we were ringing'
					}
				],
				'media.closed': { target: 'ended', actions: { type: 'end', params: 'missed' } }
			}
		},
		connecting: {
			initial: 'microphone',
			entry: { type: 'reportPhase', params: 'setup' },
			invoke: [screenOn, systemControls],
			after: {
				connectTimeout: {
					target: 'failed',
					actions: [{ type: 'end', params: 'connection-failed' }, 'closeMedia'],
					description: 'Accepted, but no working path in time'
				}
			},
			on: {
				...toldToSystemControls,
				'call.hangup': { target: 'ended', actions: [{ type: 'end', params: 'hung-up' }, 'closeMedia'] },
				'call.control': {
					guard: { type: 'controlIs', params: 'cancel' },
					target: 'ended',
					actions: { type: 'end', params: 'remote-hung-up' },
					description: 'The caller gave up while our answer was still being made'
				},
				'media.closed': { target: 'ended', actions: { type: 'end', params: 'remote-hung-up' } },
				'call.webrtcError': { target: 'failed', actions: [{ type: 'end', params: 'negotiation-failed' }, 'closeMedia'] },
				'ice.failed': { target: 'failed', actions: { type: 'end', params: 'connection-lost' } }
			},
			states: {
				microphone: {
					entry: 'openMic',
					exit: 'reportMicOpened',
					always: { guard: 'readyToNegotiate', target: 'answering' },
					on: {
						'mic.ready': { actions: ['assignMic', 'syncMediaSession'] },
						'mic.unavailable': { actions: ['assignMic', 'syncMediaSession'] },
						'call.hangup': {
							target: '#call.ended',
							actions: [{ type: 'end', params: 'hung-up' }, 'sendDecline', 'closeMedia'],
							description: 'Hung up before our answer went out: the caller is still ringing, tell it'
						}
					}
				},
				...answerSteps,
				answering: { ...answerSteps.answering, entry: 'answer' },
				ice: { ...answerSteps.ice, on: { 'ice.connected': '#call.connected' } }
			}
		},
		connected: {
			entry: [{ type: 'reportPhase', params: 'connected' }, assign({ connectedAt: ({ context }) => context.connectedAt ?? Date.now() }), 'extrasConnected'],
			invoke: [screenOn, systemControls],
			on: {
				...toldToSystemControls,
				'extras.loaded': { actions: ['spawnExtras', 'extrasConnected'] },
				'call.chat': { actions: 'toChat' },
				'call.hangup': { target: 'ended', actions: [{ type: 'end', params: 'hung-up' }, 'closeMedia'] },
				'media.closed': { target: 'ended', actions: { type: 'end', params: 'remote-hung-up' } },
				'ice.disconnected': { target: 'recovering', description: 'ICE reports the path is down' },
				'ice.stalled': { target: 'recovering', description: 'Watchdog: no media and no heartbeat from the far side' },
				'call.redial': {
					target: '#call.recovering.adopting',
					description: 'The caller noticed the loss first and re-dialled'
				},
				'ice.failed': { target: 'ended', actions: { type: 'end', params: 'connection-lost' } }
			}
		},
		recovering: {
			description: 'Media stalled or ICE disconnected: wait, then the caller re-dials with the same callId',
			entry: { type: 'reportPhase', params: 'recovering' },
			invoke: [screenOn, systemControls],
			initial: 'waiting',
			after: {
				recoveryDeadline: {
					target: 'ended',
					actions: { type: 'end', params: 'connection-lost' },
					description: 'Recovery gave up (all attempts fall within 20 s of the loss)'
				}
			},
			on: {
				...toldToSystemControls,
				'call.hangup': { target: 'ended', actions: [{ type: 'end', params: 'hung-up' }, 'closeMedia'] },
				'ice.resumed': 'connected',
				'ice.connected': 'connected',
				'call.peerUnavailable': {
					target: 'ended',
					actions: { type: 'end', params: 'connection-lost' },
					description: 'The far side is gone from signaling: nobody to re-dial'
				},
				'call.chat': { actions: 'toChat' },
				'call.redial': {
					target: '.adopting',
					reenter: true,
					description: "The caller's re-dial: same callId and peer, answered without a prompt"
				}
			},
			states: {
				waiting: {
					after: {
						recoverGrace: [
							{ guard: 'canRedial', target: 'redialing' },
							{ guard: 'isOutgoing', target: '#call.ended', actions: { type: 'end', params: 'connection-lost' } },
							{ target: 'awaitingRedial' }
						]
					},
					// A dead path can still deliver the close of the old connection later; the
					// recovery deadline, not that close, decides the call's fate.
					on: { 'media.closed': {} }
				},
				redialing: {
					entry: ['countRecovery', 'stopIce', 'redial'],
					after: {
						recoverGrace: [
							{ guard: 'canRedial', target: 'redialing', reenter: true, description: 'No path yet: dial again' },
							{ target: 'waiting' }
						]
					},
					on: { 'media.closed': 'waiting' },
					initial: 'offering',
					states: { ...offerSteps('ice', false), ice: answerSteps.ice }
				},
				awaitingRedial: {
					on: { 'media.closed': {} }
				},
				adopting: {
					entry: ['stopIce', 'adoptRedial'],
					on: { 'media.closed': 'awaitingRedial' },
					initial: 'answering',
					states: answerSteps
				}
			}
		},
		ended: {
			type: 'final',
			entry: ['closePc', 'stopIce', 'reportEnded']
		},
		failed: {
			type: 'final',
			entry: ['closePc', 'stopIce', 'reportEnded']
		}
	}
});
