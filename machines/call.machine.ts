import { assign, sendParent, sendTo, setup, spawnChild, stopChild } from 'xstate';
import type { MediaConnection, Peer } from 'peerjs';
import { callFailure, type CallEndReason, type Failure } from './errors';
import { mediaCall, type MediaEvent } from './actors/call';
import { openMicrophone, stopStream } from './actors/media';
import { sendControl, type ControlMessage } from './actors/signaling';
import { iceMachine } from './ice.machine';

export interface CallInput {
	direction: 'outgoing' | 'incoming';
	/** The far side's peer ID. */
	remoteId: string;
	/** Random per call, carried in the call's metadata; control messages name it. */
	callId: string;
	peer: Peer | null;
	/** The camera stream at call time (video only); its track is replaced on flip. */
	localStream: MediaStream | null;
	incoming?: MediaConnection | null;
}

/**
 * Events from the UI: `call.accept`, `call.decline`, `call.hangup`, `call.toggleMic`,
 * `call.toggleCamera`.
 * From the session: `call.localStream { stream }` (camera flipped or restarted: replaceTrack),
 * `call.control { message }` (the far side declined, is busy, or cancelled),
 * `call.peerUnavailable` (the server knows no such ID),
 * `call.redial { call }` (the caller's re-dial of this call during recovery: same callId/peer).
 * From children: `media.*` (actors/call.ts) and `ice.*` (ice.machine.ts).
 */
export type CallEvent =
	| MediaEvent
	| { type: 'call.accept' }
	| { type: 'call.decline' }
	| { type: 'call.hangup' }
	| { type: 'call.toggleMic' }
	| { type: 'call.toggleCamera' }
	| { type: 'call.localStream'; stream: MediaStream | null }
	| { type: 'call.control'; message: ControlMessage }
	| { type: 'call.peerUnavailable' }
	| { type: 'call.redial'; call: MediaConnection }
	| { type: 'ice.connected' }
	| { type: 'ice.disconnected' }
	| { type: 'ice.failed' }
	| { type: 'ice.stalled' }
	| { type: 'ice.resumed' };

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
	/** False when the microphone could not be opened: the call goes on with video only. */
	micAvailable: boolean;
	/** Re-dials made to recover this call. */
	recoveries: number;
	failure: Failure<CallEndReason> | null;
}

function outgoingStream(context: CallContext): MediaStream {
	const tracks = [...(context.localStream?.getVideoTracks() ?? [])];
	if (context.micTrack) tracks.push(context.micTrack);
	return new MediaStream(tracks);
}

export const callMachine = setup({
	types: {
		context: {} as CallContext,
		events: {} as CallEvent,
		input: {} as CallInput
	},
	actors: { mediaCall, openMicrophone, ice: iceMachine },
	guards: {
		isOutgoing: ({ context }) => context.direction === 'outgoing',
		canRedial: ({ context }) => context.direction === 'outgoing' && context.recoveries < recoveryLimit,
		signalingIs: ({ event }, state: RTCSignalingState) =>
			event.type === 'media.signalingState' && event.state === state,
		controlIs: ({ event }, type: ControlMessage['type']) =>
			event.type === 'call.control' && event.message.type === type
	},
	delays: {
		/** How long an outgoing call rings before giving up (and how long we ring). */
		ringTimeout: 30_000,
		/** How long `recovering` waits for the media path to come back before (and between)
		 * re-dials. */
		recoverGrace: 5000,
		/** Recovery's hard limit: entered ~3 s after the loss, so the call ends within 20 s. */
		recoveryDeadline: 15_000
	},
	actions: {
		/** Records how the call ends; the final state's entry then releases everything. */
		end: assign((_, reason: CallEndReason) => ({ failure: callFailure(reason) })),
		dial: sendTo('media', ({ context }) => ({ type: 'media.dial' as const, stream: outgoingStream(context) })),
		answer: sendTo('media', ({ context }) => ({ type: 'media.answer' as const, stream: outgoingStream(context) })),
		closeMedia: sendTo('media', { type: 'media.close' }),
		redial: sendTo('media', ({ context }) => ({ type: 'media.redial' as const, stream: outgoingStream(context) })),
		adoptRedial: sendTo('media', ({ context, event }) => ({
			type: 'media.adopt' as const,
			call: (event as Extract<CallEvent, { type: 'call.redial' }>).call,
			stream: outgoingStream(context)
		})),
		countRecovery: assign({ recoveries: ({ context }) => context.recoveries + 1 }),
		assignMic: assign(({ event }) => {
			const track = (event as unknown as { output: MediaStreamTrack | null }).output;
			return { micTrack: track, micAvailable: !!track };
		}),
		startIce: spawnChild('ice', {
			id: 'ice',
			systemId: 'ice',
			input: ({ event }) => ({ pc: (event as Extract<CallEvent, { type: 'media.pc' }>).pc })
		}),
		stopIce: stopChild('ice'),
		replaceTrack: sendTo('media', ({ event }) => ({
			type: 'media.replaceTrack' as const,
			track: event.type === 'call.localStream' ? (event.stream?.getVideoTracks()[0] ?? null) : null
		})),
		assignLocalStream: assign(({ context, event }) => {
			const stream = event.type === 'call.localStream' ? event.stream : context.localStream;
			stream?.getVideoTracks().forEach((t) => (t.enabled = !context.cameraOff));
			return { localStream: stream };
		}),
		toggleMic: assign(({ context }) => {
			const micMuted = !context.micMuted;
			if (context.micTrack) context.micTrack.enabled = !micMuted;
			return { micMuted };
		}),
		toggleCamera: assign(({ context }) => {
			const cameraOff = !context.cameraOff;
			context.localStream?.getVideoTracks().forEach((t) => (t.enabled = !cameraOff));
			return { cameraOff };
		}),
		/** The microphone belongs to the call: stopped at the end. The camera is the capture
		 * machine's and stays on for the preview (re-enabled if the user had turned it off). */
		releaseMedia: ({ context }) => {
			stopStream(context.micTrack ? new MediaStream([context.micTrack]) : null);
			context.localStream?.getVideoTracks().forEach((t) => (t.enabled = true));
		},
		sendDecline: ({ context }) => sendControl(context.peer, context.remoteId, { type: 'decline', callId: context.callId }),
		sendCancel: ({ context }) => sendControl(context.peer, context.remoteId, { type: 'cancel', callId: context.callId }),
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
		micAvailable: true,
		recoveries: 0,
		failure: null
	}),
	invoke: {
		src: 'mediaCall',
		id: 'media',
		input: ({ context }) => ({
			peer: context.peer,
			direction: context.direction,
			remoteId: context.remoteId,
			callId: context.callId,
			incoming: context.incoming
		})
	},
	on: {
		'media.pc': { actions: 'startIce' },
		'media.signalingState': { actions: assign({ signalingState: ({ event }) => event.state }) },
		'media.remoteStream': { actions: assign({ remoteStream: ({ event }) => event.stream }) },
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
			after: {
				ringTimeout: { target: 'ended', actions: [{ type: 'end', params: 'no-answer' }, 'sendCancel'] }
			},
			on: {
				'call.hangup': { target: 'ended', actions: [{ type: 'end', params: 'hung-up' }, 'sendCancel', 'closeMedia'] },
				'call.control': [
					{ guard: { type: 'controlIs', params: 'decline' }, target: 'ended', actions: { type: 'end', params: 'declined' } },
					{ guard: { type: 'controlIs', params: 'busy' }, target: 'ended', actions: { type: 'end', params: 'busy' } }
				],
				'call.peerUnavailable': { target: 'failed', actions: { type: 'end', params: 'peer-unavailable' } },
				'ice.connected': '#call.connected'
			},
			states: {
				microphone: {
					description: 'The microphone opens at call time, never on the camera screen',
					invoke: { src: 'openMicrophone', id: 'microphone', onDone: { target: 'offering', actions: 'assignMic' } }
				},
				offering: {
					entry: 'dial',
					description: 'new RTCPeerConnection → createOffer → setLocalDescription',
					on: {
						'media.signalingState': {
							guard: { type: 'signalingIs', params: 'have-local-offer' },
							target: 'haveLocalOffer',
							actions: assign({ signalingState: 'have-local-offer' as const })
						}
					}
				},
				haveLocalOffer: {
					description: 'Offer sent through signaling; the far side is ringing',
					on: {
						'media.signalingState': {
							guard: { type: 'signalingIs', params: 'stable' },
							target: '#call.connecting.ice',
							actions: assign({ signalingState: 'stable' as const }),
							description: 'Answer arrived → setRemoteDescription'
						}
					}
				}
			}
		},
		ringing: {
			after: {
				ringTimeout: { target: 'ended', actions: { type: 'end', params: 'missed' } }
			},
			on: {
				'call.accept': '#call.connecting.microphone',
				'call.decline': { target: 'ended', actions: [{ type: 'end', params: 'declined' }, 'sendDecline', 'closeMedia'] },
				'call.hangup': { target: 'ended', actions: [{ type: 'end', params: 'declined' }, 'sendDecline', 'closeMedia'] },
				'call.control': {
					guard: { type: 'controlIs', params: 'cancel' },
					target: 'ended',
					actions: { type: 'end', params: 'missed' },
					description: 'The caller gave up while we were ringing'
				},
				'media.closed': { target: 'ended', actions: { type: 'end', params: 'missed' } }
			}
		},
		connecting: {
			initial: 'ice',
			on: {
				'call.hangup': { target: 'ended', actions: [{ type: 'end', params: 'hung-up' }, 'closeMedia'] },
				'media.closed': { target: 'ended', actions: { type: 'end', params: 'remote-hung-up' } },
				'ice.connected': 'connected',
				'ice.failed': { target: 'failed', actions: { type: 'end', params: 'connection-lost' } }
			},
			states: {
				microphone: {
					invoke: { src: 'openMicrophone', id: 'microphone', onDone: { target: 'answering', actions: 'assignMic' } }
				},
				answering: {
					entry: 'answer',
					description: 'answer(): setRemoteDescription(offer) → createAnswer → setLocalDescription',
					on: {
						'media.signalingState': [
							{
								guard: { type: 'signalingIs', params: 'have-remote-offer' },
								target: 'haveRemoteOffer',
								actions: assign({ signalingState: 'have-remote-offer' as const })
							},
							{
								guard: { type: 'signalingIs', params: 'stable' },
								target: 'ice',
								actions: assign({ signalingState: 'stable' as const })
							}
						]
					}
				},
				haveRemoteOffer: {
					on: {
						'media.signalingState': {
							guard: { type: 'signalingIs', params: 'stable' },
							target: 'ice',
							actions: assign({ signalingState: 'stable' as const }),
							description: 'Local answer set; answer sent back'
						}
					}
				},
				ice: {
					description: 'Offer/answer done; waiting for ICE to connect'
				}
			}
		},
		connected: {
			on: {
				'call.hangup': { target: 'ended', actions: [{ type: 'end', params: 'hung-up' }, 'closeMedia'] },
				'media.closed': { target: 'ended', actions: { type: 'end', params: 'remote-hung-up' } },
				'ice.disconnected': { target: 'recovering', description: 'ICE reports the path is down' },
				'ice.stalled': { target: 'recovering', description: 'Watchdog: inbound media stalled' },
				'call.redial': {
					target: '#call.recovering.answering',
					actions: ['stopIce', 'adoptRedial'],
					description: 'The caller noticed the loss first and re-dialled'
				},
				'ice.failed': { target: 'ended', actions: { type: 'end', params: 'connection-lost' } }
			}
		},
		recovering: {
			description: 'Media stalled or ICE disconnected: wait, then the caller re-dials with the same callId',
			initial: 'waiting',
			after: {
				recoveryDeadline: {
					target: 'ended',
					actions: { type: 'end', params: 'connection-lost' },
					description: 'Recovery gave up (all attempts fall within 20 s of the loss)'
				}
			},
			on: {
				'call.hangup': { target: 'ended', actions: [{ type: 'end', params: 'hung-up' }, 'closeMedia'] },
				'ice.resumed': 'connected',
				'ice.connected': 'connected',
				'call.peerUnavailable': {
					target: 'ended',
					actions: { type: 'end', params: 'connection-lost' },
					description: 'The far side is gone from signaling: nobody to re-dial'
				},
				'call.redial': {
					target: '.answering',
					actions: ['stopIce', 'adoptRedial'],
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
					after: { recoverGrace: 'waiting' },
					on: { 'media.closed': 'waiting' }
				},
				awaitingRedial: {
					on: { 'media.closed': {} }
				},
				answering: {
					on: { 'media.closed': 'awaitingRedial' }
				}
			}
		},
		ended: {
			type: 'final',
			entry: ['stopIce', 'releaseMedia', 'reportEnded']
		},
		failed: {
			type: 'final',
			entry: ['stopIce', 'releaseMedia', 'reportEnded']
		}
	}
});
