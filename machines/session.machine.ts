import { assign, enqueueActions, fromCallback, sendTo, setup, stopChild, type ActorRefFrom } from 'xstate';
import type { DataConnection, MediaConnection, Peer } from 'peerjs';
import type { CaptureFailureReason, Failure } from './errors';
import { permissionMachine } from './permission.machine';
import { captureMachine } from './capture.machine';
import { signalingMachine } from './signaling.machine';
import { callMachine } from './call.machine';
import type { PhotoEvent, photoMachine } from './photo.machine';
import { rejectCall, type ControlMessage } from './actors/signaling';
import type { PhotoOffer } from './actors/photo-offer';

/** PeerJS's own rule for IDs (util.validateId): letters and digits, single inner spaces,
 * dashes or underscores. */
export const peerIdPattern = /^[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*$/;

/** Why a dial was refused before any call existed; the views translate it. */
export type DialError = 'empty' | 'tooLong' | 'invalid' | 'notConnected';

export function validatePeerId(raw: string): { ok: true; id: string } | { ok: false; reason: DialError } {
	const id = raw.trim();
	if (!id) return { ok: false, reason: 'empty' };
	if (id.length > 64) return { ok: false, reason: 'tooLong' };
	if (!peerIdPattern.test(id)) return { ok: false, reason: 'invalid' };
	return { ok: true, id };
}

export function newCallId(): string {
	const bytes = new Uint8Array(9);
	crypto.getRandomValues(bytes);
	return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Events from the UI: `call.dial { peerId }`, `call.dismiss` (clear an ended call's message),
 * `call.clearDialError` (the user edited the ID), `photo.sendToPeer { photoId }` (send a saved
 * photo to the connected call's peer), `photo.load` (the gallery opened), and the photo
 * machine's own UI events (PhotoUiEvent), which the session passes on.
 * From children: `permission.granted`, `capture.live { stream }`, `capture.failed { failure }`,
 * `signaling.peer { peer }`, `signaling.incomingCall { call }`, `signaling.control { from,
 * message }`, `signaling.peerUnavailable { peerId }`, `signaling.photo { from, conn, offer }`,
 * `call.ended { callId, failure }`, `photo.machineLoaded { machine }` / `photo.machineFailed`
 * (the photo machine's code arrived, or could not: offline before it was cached).
 */
export type SessionEvent =
	| { type: 'call.dial'; peerId: string }
	| { type: 'call.dismiss' }
	| { type: 'call.clearDialError' }
	| { type: 'photo.sendToPeer'; photoId: string }
	| { type: 'photo.load' }
	| PhotoUiEvent
	| { type: 'signaling.photo'; from: string; conn: DataConnection; offer: PhotoOffer }
	| { type: 'photo.machineLoaded'; machine: PhotoMachine }
	| { type: 'photo.machineFailed' }
	| { type: 'permission.granted' }
	| { type: 'capture.live'; stream: MediaStream | null }
	| { type: 'capture.failed'; failure: Failure<CaptureFailureReason> | null }
	| { type: 'signaling.peer'; peer: Peer | null }
	| { type: 'signaling.incomingCall'; call: MediaConnection | null }
	| { type: 'signaling.control'; from: string; message: ControlMessage }
	| { type: 'signaling.peerUnavailable'; peerId: string | null }
	| { type: 'call.ended'; callId: string; failure: Failure | null };

export type CallRef = ActorRefFrom<typeof callMachine>;
type PhotoMachine = typeof photoMachine;
export type PhotoRef = ActorRefFrom<PhotoMachine>;

/** What the views send the photo machine through the session (see photo.machine.ts). */
export type PhotoUiEvent = Extract<
	PhotoEvent,
	{ type: 'photo.take' | 'photo.retrySave' | 'photo.dismiss' | 'photo.delete' | 'photo.reload' | 'photo.cancelSend' }
>;

export interface SessionContext {
	peer: Peer | null;
	localStream: MediaStream | null;
	call: CallRef | null;
	/** Why the last dial was refused before a call existed (invalid ID, not connected). */
	dialError: DialError | null;
	/** The photo machine, spawned (systemId `photo`) the first time photos are needed: the
	 * shutter, the gallery, or a photo offer. Its code stays out of the first load. */
	photo: PhotoRef | null;
	photoLoading: boolean;
	/** Events for the photo machine that came while its code was loading. */
	photoQueue: PhotoEvent[];
}

function callIsActive(call: CallRef | null): boolean {
	return !!call && call.getSnapshot().status === 'active';
}

function callIsConnected(call: CallRef | null): boolean {
	return callIsActive(call) && call!.getSnapshot().matches('connected');
}

export const sessionMachine = setup({
	types: {
		context: {} as SessionContext,
		events: {} as SessionEvent
	},
	actors: {
		permission: permissionMachine,
		capture: captureMachine,
		signaling: signalingMachine,
		call: callMachine,
		/** Imports the photo machine on first use. Swapped in unit tests. */
		loadPhotoMachine: fromCallback<{ type: string }>(({ sendBack }) => {
			import('./photo.machine').then(
				(m) => sendBack({ type: 'photo.machineLoaded', machine: m.photoMachine }),
				() => sendBack({ type: 'photo.machineFailed' })
			);
		})
	},
	guards: {
		busy: ({ context }) => callIsActive(context.call),
		redialOfCurrentCall: ({ context, event }) => {
			if (event.type !== 'signaling.incomingCall' || !event.call || !callIsActive(context.call)) return false;
			const current = context.call!.getSnapshot();
			const callId = (event.call.metadata as { callId?: unknown } | undefined)?.callId;
			return (
				callId === current.context.callId &&
				event.call.peer === current.context.remoteId &&
				(current.matches('connected') || current.matches('recovering'))
			);
		},
		invalidDial: ({ event }) => event.type === 'call.dial' && !validatePeerId(event.peerId).ok,
		canDial: ({ context }) => !!context.peer && !context.peer.disconnected && !callIsActive(context.call),
		cameraDenied: ({ event }) => event.type === 'capture.failed' && event.failure?.reason === 'permission-denied',
		forCurrentCall: ({ context, event }) =>
			event.type === 'signaling.control' &&
			!!context.call &&
			context.call.getSnapshot().context.callId === event.message.callId &&
			context.call.getSnapshot().context.remoteId === event.from,
		/** Photos only from the peer of the connected call, naming that call. */
		photoFromCurrentCall: ({ context, event }) =>
			event.type === 'signaling.photo' &&
			typeof event.offer?.callId === 'string' &&
			callIsConnected(context.call) &&
			context.call!.getSnapshot().context.remoteId === event.from &&
			context.call!.getSnapshot().context.callId === event.offer.callId,
		toCurrentCallee: ({ context, event }) =>
			event.type === 'signaling.peerUnavailable' &&
			!!context.call &&
			context.call.getSnapshot().context.remoteId === event.peerId
	},
	actions: {
		stopCall: stopChild(({ context }) => context.call ?? ''),
		spawnOutgoing: assign(({ context, event, spawn }) => ({
			dialError: null,
			call: spawn('call', {
					id: 'call',
					systemId: 'call',
					input: {
						direction: 'outgoing',
						remoteId: event.type === 'call.dial' ? event.peerId.trim() : '',
						callId: newCallId(),
						peer: context.peer,
						localStream: context.localStream
					}
				})
		})),
		spawnIncoming: assign(({ context, event, spawn }) => {
				const incoming = event.type === 'signaling.incomingCall' ? event.call : null;
				const callId = (incoming?.metadata as { callId?: unknown } | undefined)?.callId;
				const call = spawn('call', {
					id: 'call',
					systemId: 'call',
					input: {
						direction: 'incoming',
						remoteId: incoming?.peer ?? '',
						callId: typeof callId === 'string' ? callId : newCallId(),
						peer: context.peer,
						localStream: context.localStream,
						incoming
					}
				});
				return { dialError: null, call };
		}),
		/**
		 * Passes an event on to the photo machine, translated where the session adds what it
		 * knows (a send gets the connected call's peer and IDs, or nulls and the photo machine
		 * says why); before the machine exists, queues it and starts loading it.
		 */
		toPhoto: enqueueActions(({ context, event, enqueue }) => {
			let forward: PhotoEvent | null = null;
			if (event.type === 'photo.sendToPeer') {
				const connected = callIsConnected(context.call);
				const call = connected ? context.call!.getSnapshot().context : null;
				forward = {
					type: 'photo.send',
					photoId: event.photoId,
					peer: connected ? context.peer : null,
					to: call?.remoteId ?? null,
					callId: call?.callId ?? null
				};
			} else if (event.type === 'signaling.photo') {
				forward = { type: 'photo.incoming', conn: event.conn, from: event.from, offer: event.offer };
			} else if (event.type !== 'photo.load') {
				forward = event as PhotoUiEvent;
			}
			if (context.photo) {
				if (forward) enqueue.sendTo(context.photo, forward);
				return;
			}
			if (forward) enqueue.assign({ photoQueue: [...context.photoQueue, forward] });
			if (!context.photoLoading) {
				enqueue.assign({ photoLoading: true });
				enqueue.spawnChild('loadPhotoMachine', { id: 'photoLoader' });
			}
		}),
		spawnPhoto: assign(({ event, spawn }) => {
			// setup() types spawn for the sources it declares; this logic arrived by import().
			const spawnLogic = spawn as unknown as (logic: PhotoMachine, options: { id: string; systemId: string }) => PhotoRef;
			return {
				photo: event.type === 'photo.machineLoaded' ? spawnLogic(event.machine, { id: 'photo', systemId: 'photo' }) : null,
				photoLoading: false
			};
		}),
		stopPhotoLoader: stopChild('photoLoader'),
		/** The new photo machine learns the camera stream, then gets what waited. */
		flushPhoto: enqueueActions(({ context, enqueue }) => {
			if (!context.photo) return;
			enqueue.sendTo(context.photo, { type: 'photo.stream', stream: context.localStream });
			for (const queued of context.photoQueue) enqueue.sendTo(context.photo, queued);
			enqueue.assign({ photoQueue: [] });
		}),
		/** A photo from anyone but the connected call's peer: refused. Swapped in unit tests. */
		refusePhoto: ({ event }) => {
			if (event.type === 'signaling.photo') void import('./actors/photo-offer').then((m) => m.refusePhoto(event.conn));
		},
		photoStream: enqueueActions(({ context, event, enqueue }) => {
			if (context.photo) {
				enqueue.sendTo(context.photo, { type: 'photo.stream', stream: event.type === 'capture.live' ? event.stream : null });
			}
		}),
		/** A second call while busy: tell its caller we are busy, and let it go unanswered. */
		rejectBusy: ({ context, event }) => {
			if (event.type === 'signaling.incomingCall' && event.call) rejectCall(context.peer, event.call, 'busy');
		}
	}
}).createMachine({
	id: 'session',
	context: { peer: null, localStream: null, call: null, dialError: null, photo: null, photoLoading: false, photoQueue: [] },
	invoke: [
		{ src: 'permission', id: 'permission', systemId: 'permission' },
		{ src: 'capture', id: 'capture', systemId: 'capture' },
		{ src: 'signaling', id: 'signaling', systemId: 'signaling' }
	],
	initial: 'running',
	states: {
		running: {
			on: {
				'permission.granted': {
					actions: sendTo('capture', { type: 'camera.start' }),
					description: 'Permission already granted: open the camera without a tap'
				},
				'capture.live': {
					actions: [
						assign({ localStream: ({ event }) => event.stream }),
						sendTo('permission', { type: 'permission.observed', state: 'granted' }),
						'photoStream',
						enqueueActions(({ context, event, enqueue }) => {
							// A flip mid-call: the call swaps the track with replaceTrack.
							if (context.call) enqueue.sendTo(context.call, { type: 'call.localStream', stream: event.stream });
						})
					]
				},
				'capture.failed': [
					{
						guard: 'cameraDenied',
						actions: [sendTo('permission', { type: 'permission.observed', state: 'denied' }), 'photoStream']
					},
					{ actions: 'photoStream' }
				],
				'signaling.peer': { actions: assign({ peer: ({ event }) => event.peer }) },
				'signaling.incomingCall': [
					{
						guard: 'redialOfCurrentCall',
						actions: sendTo(
							({ context }) => context.call!,
							({ event }) => ({ type: 'call.redial' as const, call: event.call! })
						),
						description: 'Same callId and peer as the current call: its recovery re-dial'
					},
					{ guard: 'busy', actions: 'rejectBusy', description: 'Already in a call: decline with busy' },
					{ actions: ['stopCall', 'spawnIncoming'] }
				],
				'signaling.control': {
					guard: 'forCurrentCall',
					actions: sendTo(
						({ context }) => context.call!,
						({ event }) => ({ type: 'call.control' as const, message: event.message })
					)
				},
				'signaling.photo': [
					{ guard: 'photoFromCurrentCall', actions: 'toPhoto' },
					{ actions: 'refusePhoto' }
				],
				// The views' photo events (photo.load: the gallery opened) go to the photo machine,
				// loading it first.
				'photo.*': { actions: 'toPhoto' },
				'photo.machineLoaded': { actions: ['stopPhotoLoader', 'spawnPhoto', 'flushPhoto'] },
				// Its code could not load (offline before it was cached): the next tap tries again.
				'photo.machineFailed': { actions: ['stopPhotoLoader', assign({ photoLoading: false, photoQueue: [] })] },
				'signaling.peerUnavailable': {
					guard: 'toCurrentCallee',
					actions: sendTo(({ context }) => context.call!, { type: 'call.peerUnavailable' })
				},
				'call.dial': [
					{
						guard: 'invalidDial',
						actions: assign({
							dialError: ({ event }) => {
								const result = validatePeerId(event.peerId);
								return result.ok ? null : result.reason;
							}
						})
					},
					{ guard: 'canDial', actions: ['stopCall', 'spawnOutgoing'] },
					{
						actions: assign({ dialError: 'notConnected' as const })
					}
				],
				'call.dismiss': { actions: ['stopCall', assign({ call: null, dialError: null })] },
				'call.clearDialError': { actions: assign({ dialError: null }) }
			}
		}
	}
});
