import { and, assertEvent, assign, enqueueActions, fromCallback, raise, sendTo, setup, spawnChild, stateIn, stopChild, type ActorRefFrom } from 'xstate';
import type { DataConnection, MediaConnection, Peer } from 'peerjs';
import type { CaptureFailureReason, Failure } from './errors';
import { permissionMachine } from './permission.machine';
import { captureMachine } from './capture.machine';
import { signalingMachine } from './signaling.machine';
import type { CallInput, CallMicReport, CallPhase, callMachine } from './call.machine';
import type { PhotoEvent, photoMachine } from './photo.machine';
import { rejectCall, type ControlMessage } from './actors/signaling';
import type { PhotoOffer } from './actors/photo-offer';
import {
	cleanName,
	maxRecents,
	readContacts,
	readName,
	readRecents,
	saveContacts,
	saveName,
	saveRecents,
	type Recent,
	type RecentOutcome
} from './actors/profile';
import type { CallEndReason } from './errors';
import { dialTarget, validatePeerId, type DialError } from './peer-id';

export { dialTarget, peerIdPattern, validatePeerId, type DialError } from './peer-id';

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
 * `signaling.peer { peer }`, `signaling.incomingCall { call }`, `signaling.chat { from, conn,
 * offer }` (passed to the call, whose chat decides), `signaling.control { from,
 * message }`, `signaling.peerUnavailable { peerId }`, `signaling.photo { from, conn, offer }`,
 * `signaling.webrtcError { message }` (a negotiation failure PeerJS reports on the Peer),
 * `call.phase { phase }` (the call entered ringing, setup, connected or recovering),
 * `call.micOpened { stream }` (CallMicReport: the call's microphone step is over; passed to the
 * capture machine),
 * `call.ended { callId, failure }`, `photo.machineLoaded { machine }` / `photo.machineFailed`
 * (the photo machine's code arrived, or could not: offline before it was cached).
 *
 * The session's chart has two regions. `call`: free (no call, or one that is over and shown
 * until dismissed) → ringing / active.setup → active.connected ⇄ active.recovering; where it is
 * decides what an incoming call means (ring, busy, or the current call's recovery re-dial), what
 * dismiss may clear and whom a photo may come from. `photo`: absent → loading → ready.
 */
export type SessionEvent =
	| { type: 'call.dial'; peerId: string }
	| { type: 'call.dismiss' }
	| { type: 'call.clearDialError' }
	| { type: 'profile.setName'; name: string }
	| { type: 'contacts.save'; peerId: string; nickname: string }
	| { type: 'contacts.remove'; peerId: string }
	| { type: 'photo.sendToPeer'; photoId: string }
	| { type: 'photo.load' }
	| PhotoUiEvent
	| { type: 'signaling.photo'; from: string; conn: DataConnection; offer: PhotoOffer }
	| { type: 'signaling.chat'; from: string; conn: DataConnection; offer: unknown }
	| { type: 'photo.machineLoaded'; machine: PhotoMachine }
	| { type: 'call.prefetch' }
	| { type: 'call.machineLoaded'; machine: CallMachine }
	| { type: 'call.machineFailed' }
	| { type: 'photo.machineFailed' }
	| { type: 'permission.granted' }
	| { type: 'capture.live'; stream: MediaStream | null }
	| { type: 'capture.failed'; failure: Failure<CaptureFailureReason> | null }
	| { type: 'signaling.peer'; peer: Peer | null }
	| { type: 'signaling.incomingCall'; call: MediaConnection }
	| { type: 'signaling.control'; from: string; message: ControlMessage }
	| { type: 'signaling.peerUnavailable'; peerId: string | null }
	| { type: 'signaling.webrtcError'; message: string }
	| { type: 'call.phase'; phase: CallPhase }
	| CallMicReport
	| { type: 'call.ended'; callId: string; failure: Failure | null };

type CallMachine = typeof callMachine;
export type CallRef = ActorRefFrom<CallMachine>;
/** A dial or an incoming call that came before the call machine's code: replayed once it has loaded. */
type CallStart = Extract<SessionEvent, { type: 'call.dial' | 'signaling.incomingCall' }>;
type PhotoMachine = typeof photoMachine;
export type PhotoRef = ActorRefFrom<PhotoMachine>;

/** What the views send the photo machine through the session (see photo.machine.ts). */
export type PhotoUiEvent = Extract<PhotoEvent, { type: (typeof photoUiEvents)[number] }>;

export interface SessionContext {
	/** Our display name (saved; '' for none): it travels in each call we place or answer. */
	displayName: string;
	/** Calls in and out, newest first (saved). */
	recents: Recent[];
	/** Nicknames by peer ID (saved). */
	contacts: Record<string, string>;
	peer: Peer | null;
	localStream: MediaStream | null;
	call: CallRef | null;
	/** The call machine, imported after the camera and the ID are ready (call.prefetch) or by
	 * the first call: it is not part of a first visit. */
	callLogic: CallMachine | null;
	/** Calls that came while it was loading. */
	callQueue: CallStart[];
	/** Why the last dial was refused before a call existed (invalid ID, not connected). */
	dialError: DialError | null;
	/** The photo machine, spawned (systemId `photo`) the first time photos are needed: the
	 * shutter, the gallery, or a photo offer. Its code stays out of the first load. */
	photo: PhotoRef | null;
	photoLoading: boolean;
	/** Events for the photo machine that came while its code was loading. */
	photoQueue: PhotoEvent[];
}

/** Passes an event to the photo machine, or keeps it until the machine has loaded. */
function toPhoto(
	context: SessionContext,
	enqueue: { sendTo(to: PhotoRef, event: PhotoEvent): void; assign(values: Partial<SessionContext>): void },
	forward: PhotoEvent
) {
	if (context.photo) enqueue.sendTo(context.photo, forward);
	else enqueue.assign({ photoQueue: [...context.photoQueue, forward] });
}

const photoUiEvents = [
	'photo.take',
	'photo.retrySave',
	'photo.dismiss',
	'photo.delete',
	'photo.undoDelete',
	'photo.reload',
	'photo.cancelSend',
	'photo.acceptPeer',
	'photo.declinePeer'
] as const;

/** Spawns the call machine (systemId `call`): setup() types spawn for the sources it
 * declares, and this logic arrived by import(). */
function spawnCall(spawn: unknown, logic: CallMachine, options: { id: string; systemId: string; input: CallInput }): CallRef {
	return (spawn as (logic: CallMachine, options: { id: string; systemId: string; input: CallInput }) => CallRef)(logic, options);
}

/** How a call went, for the recents: by its end reason, and whether it ever connected. */
export function outcomeOf(reason: CallEndReason | undefined, connected: boolean): RecentOutcome {
	if (connected) return 'answered';
	switch (reason) {
		case 'missed':
		case 'missed-cancelled':
			return 'missed';
		case 'declined':
		case 'declined-by-me':
			return 'declined';
		case 'no-answer':
			return 'no-answer';
		case 'busy':
			return 'busy';
		case 'hung-up':
			return 'cancelled';
		default:
			return 'failed';
	}
}

/** The callId a media call carries in its metadata, when it is a string. */
function callIdOf(call: MediaConnection): string | null {
	const callId = (call.metadata as { callId?: unknown } | null | undefined)?.callId;
	return typeof callId === 'string' ? callId : null;
}

/** The current call's IDs: what incoming calls, control messages and photos are matched to. */
function current(call: CallRef | null): { callId: string; remoteId: string } | null {
	return call ? call.getSnapshot().context : null;
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
		/** Imports the call machine. Swapped in unit tests. */
		loadCallMachine: fromCallback<{ type: string }>(({ sendBack }) => {
			import('./call.machine').then(
				(m) => sendBack({ type: 'call.machineLoaded', machine: m.callMachine }),
				() => sendBack({ type: 'call.machineFailed' })
			);
		}),
		/** Loads what the first call would wait for (actors/call-extras.ts, part of the call
		 * machine's chunk), once that code is in. Swapped in unit tests. */
		prepareCalls: fromCallback<{ type: string }>(() => {
			let cancel: (() => void) | null = null;
			let stopped = false;
			import('./call.machine').then(
				(m) => {
					if (!stopped) cancel = m.prepareCalls();
				},
				() => {}
			);
			return () => {
				stopped = true;
				cancel?.();
			};
		}),
		/** Imports the photo machine on first use. Swapped in unit tests. */
		loadPhotoMachine: fromCallback<{ type: string }>(({ sendBack }) => {
			import('./photo.machine').then(
				(m) => sendBack({ type: 'photo.machineLoaded', machine: m.photoMachine }),
				() => sendBack({ type: 'photo.machineFailed' })
			);
		})
	},
	guards: {
		/** An incoming call with the current call's callId from its peer: its recovery re-dial. */
		sameCall: ({ context, event }) => {
			assertEvent(event, 'signaling.incomingCall');
			const now = current(context.call);
			return !!now && callIdOf(event.call) === now.callId && event.call.peer === now.remoteId;
		},
		invalidDial: ({ event }) => {
			assertEvent(event, 'call.dial');
			return !validatePeerId(event.peerId).ok;
		},
		/** Calling your own ID would only ever be "busy": refused with its own reason. */
		dialingSelf: ({ context, event }) => {
			assertEvent(event, 'call.dial');
			return !!context.peer?.id && dialTarget(event.peerId) === context.peer.id;
		},
		signalingOpen: ({ context }) => !!context.peer && !context.peer.disconnected,
		callCodeMissing: ({ context }) => !context.callLogic,
		cameraDenied: ({ event }) => {
			assertEvent(event, 'capture.failed');
			return event.failure?.reason === 'permission-denied';
		},
		forCurrentCall: ({ context, event }) => {
			assertEvent(event, 'signaling.control');
			const now = current(context.call);
			return !!now && now.callId === event.message.callId && now.remoteId === event.from;
		},
		/** Photos only from the connected call's peer, naming that call. The signaling actor
		 * passes any object as the offer; the photo machine checks the rest. */
		photoFromCurrentCall: ({ context, event }) => {
			assertEvent(event, 'signaling.photo');
			const now = current(context.call);
			return !!now && now.remoteId === event.from && now.callId === event.offer.callId;
		},
		toCurrentCallee: ({ context, event }) => {
			assertEvent(event, 'signaling.peerUnavailable');
			return current(context.call)?.remoteId === event.peerId;
		},
		phaseIs: ({ event }, phase: CallPhase) => {
			assertEvent(event, 'call.phase');
			return event.phase === phase;
		},
		endedIsCurrent: ({ context, event }) => {
			assertEvent(event, 'call.ended');
			return current(context.call)?.callId === event.callId;
		}
	},
	actions: {
		assignName: assign({
			displayName: ({ event }) => {
				assertEvent(event, 'profile.setName');
				return cleanName(event.name);
			}
		}),
		/** Swapped in unit tests (localStorage). */
		persistName: ({ context }) => saveName(context.displayName),
		assignContact: assign({
			contacts: ({ context, event }) => {
				assertEvent(event, 'contacts.save');
				const nickname = cleanName(event.nickname);
				if (!validatePeerId(event.peerId).ok) return context.contacts;
				const next = { ...context.contacts };
				if (nickname) next[event.peerId] = nickname;
				else delete next[event.peerId];
				return next;
			}
		}),
		removeContact: assign({
			contacts: ({ context, event }) => {
				assertEvent(event, 'contacts.remove');
				const next = { ...context.contacts };
				delete next[event.peerId];
				return next;
			}
		}),
		persistContacts: ({ context }) => saveContacts(context.contacts),
		recordRecent: assign({
			recents: ({ context, event }) => {
				assertEvent(event, 'call.ended');
				const call = context.call!.getSnapshot().context;
				const recent: Recent = {
					peerId: call.remoteId,
					name: call.remoteName,
					direction: call.direction === 'incoming' ? 'in' : 'out',
					at: call.startedAt,
					seconds: call.connectedAt === null ? null : Math.max(0, Math.round(((call.endedAt ?? Date.now()) - call.connectedAt) / 1000)),
					outcome: outcomeOf(event.failure?.reason as CallEndReason | undefined, call.connectedAt !== null)
				};
				return [recent, ...context.recents].slice(0, maxRecents);
			}
		}),
		persistRecents: ({ context }) => saveRecents(context.recents),
		stopCall: stopChild(({ context }) => context.call ?? ''),
		spawnOutgoing: assign(({ context, event, spawn }) => {
			assertEvent(event, 'call.dial');
			return {
				dialError: null,
				call: spawnCall(spawn, context.callLogic!, {
					id: 'call',
					systemId: 'call',
					input: {
						direction: 'outgoing',
						remoteId: dialTarget(event.peerId),
						callId: newCallId(),
						peer: context.peer,
						localStream: context.localStream,
						localName: context.displayName
					}
				})
			};
		}),
		spawnIncoming: assign(({ context, event, spawn }) => {
			assertEvent(event, 'signaling.incomingCall');
			const incoming = event.call;
			const call = spawnCall(spawn, context.callLogic!, {
				id: 'call',
				systemId: 'call',
				input: {
					direction: 'incoming',
					remoteId: incoming.peer,
					callId: callIdOf(incoming) ?? newCallId(),
					peer: context.peer,
					localStream: context.localStream,
					incoming,
					localName: context.displayName
				}
			});
			return { dialError: null, call };
		}),
		assignDialError: assign({
			dialError: ({ event }) => {
				assertEvent(event, 'call.dial');
				const result = validatePeerId(event.peerId);
				return result.ok ? 'notConnected' : result.reason;
			}
		}),
		forwardRedial: sendTo(
			({ context }) => context.call!,
			({ event }) => {
				assertEvent(event, 'signaling.incomingCall');
				return { type: 'call.redial' as const, call: event.call };
			}
		),
		forwardControl: sendTo(
			({ context }) => context.call!,
			({ event }) => {
				assertEvent(event, 'signaling.control');
				return { type: 'call.control' as const, message: event.message };
			}
		),
		forwardPeerUnavailable: sendTo(({ context }) => context.call!, { type: 'call.peerUnavailable' }),
		forwardChat: sendTo(
			({ context }) => context.call!,
			({ event }) => {
				assertEvent(event, 'signaling.chat');
				return { ...event, type: 'call.chat' as const };
			}
		),
		/** Closed at once, so PeerJS never answers it. Swapped in unit tests. */
		refuseChat: ({ event }) => {
			assertEvent(event, 'signaling.chat');
			try {
				event.conn.close();
			} catch {
				/* already closed */
			}
		},
		forwardWebrtcError: sendTo(
			({ context }) => context.call!,
			({ event }) => {
				assertEvent(event, 'signaling.webrtcError');
				return { type: 'call.webrtcError' as const, message: event.message };
			}
		),
		/** The photo machine gets a send request with the connected call's peer and IDs. */
		sendPhotoToPeer: enqueueActions(({ context, event, enqueue }) => {
			assertEvent(event, 'photo.sendToPeer');
			const now = current(context.call);
			toPhoto(context, enqueue, { type: 'photo.send', photoId: event.photoId, peer: context.peer, to: now?.remoteId ?? null, callId: now?.callId ?? null });
		}),
		/** Outside a connected call a send is still passed on, with nulls: the photo machine says why. */
		sendPhotoNoCall: enqueueActions(({ context, event, enqueue }) => {
			assertEvent(event, 'photo.sendToPeer');
			toPhoto(context, enqueue, { type: 'photo.send', photoId: event.photoId, peer: null, to: null, callId: null });
		}),
		photoIncoming: enqueueActions(({ context, event, enqueue }) => {
			assertEvent(event, 'signaling.photo');
			toPhoto(context, enqueue, { type: 'photo.incoming', conn: event.conn, from: event.from, offer: event.offer });
		}),
		/** The views' own photo events (the shutter, retry, delete, …) go to the photo machine. */
		photoUi: enqueueActions(({ context, event, enqueue }) => {
			if ((photoUiEvents as readonly string[]).includes(event.type)) toPhoto(context, enqueue, event as PhotoUiEvent);
		}),
		queueCall: assign({
			callQueue: ({ context, event }) => [...context.callQueue, event as CallStart]
		}),
		/** The call machine arrived: what waited for it is handled now, in order. */
		flushCalls: enqueueActions(({ context, enqueue }) => {
			for (const queued of context.callQueue) enqueue.raise(queued);
			enqueue.assign({ callQueue: [] });
		}),
		startPhotoLoader: spawnChild('loadPhotoMachine', { id: 'photoLoader' }),
		spawnPhoto: assign(({ event, spawn }) => {
			assertEvent(event, 'photo.machineLoaded');
			// setup() types spawn for the sources it declares; this logic arrived by import().
			const spawnLogic = spawn as unknown as (logic: PhotoMachine, options: { id: string; systemId: string }) => PhotoRef;
			return { photo: spawnLogic(event.machine, { id: 'photo', systemId: 'photo' }), photoLoading: false };
		}),
		stopPhotoLoader: stopChild('photoLoader'),
		/** The new photo machine learns the camera stream, then gets what waited. */
		flushPhoto: enqueueActions(({ context, enqueue }) => {
			const photo = context.photo!;
			enqueue.sendTo(photo, { type: 'photo.stream', stream: context.localStream });
			for (const queued of context.photoQueue) enqueue.sendTo(photo, queued);
			enqueue.assign({ photoQueue: [] });
		}),
		/** A photo from anyone but the connected call's peer: refused. Swapped in unit tests. */
		refusePhoto: ({ event }) => {
			assertEvent(event, 'signaling.photo');
			void import('./actors/photo-offer').then((m) => m.refusePhoto(event.conn));
		},
		photoStream: enqueueActions(({ context, event, enqueue }) => {
			if (context.photo) {
				enqueue.sendTo(context.photo, { type: 'photo.stream', stream: event.type === 'capture.live' ? event.stream : null });
			}
		}),
		/** A second call while busy: tell its caller we are busy, and let it go unanswered. */
		rejectBusy: ({ context, event }) => {
			assertEvent(event, 'signaling.incomingCall');
			rejectCall(context.peer, event.call, 'busy');
		}
	}
}).createMachine({
	id: 'session',
	context: () => ({
		displayName: readName(),
		recents: readRecents(),
		contacts: readContacts(),
		peer: null,
		localStream: null,
		call: null,
		callLogic: null,
		callQueue: [],
		dialError: null,
		photo: null,
		photoLoading: false,
		photoQueue: []
	}),
	invoke: [
		{ src: 'permission', id: 'permission', systemId: 'permission' },
		{ src: 'capture', id: 'capture', systemId: 'capture' },
		{ src: 'signaling', id: 'signaling', systemId: 'signaling' }
	],
	type: 'parallel',
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
		// The call's microphone step is over: the capture machine stops waiting for it.
		'call.micOpened': { actions: sendTo('capture', ({ event }) => event) },
		'signaling.peer': { actions: assign({ peer: ({ event }) => event.peer }) },
		'call.clearDialError': { actions: assign({ dialError: null }) },
		'profile.setName': { actions: ['assignName', 'persistName'] },
		'contacts.save': { actions: ['assignContact', 'persistContacts'] },
		'contacts.remove': { actions: ['removeContact', 'persistContacts'] }
	},
	states: {
		call: {
			initial: 'free',
			states: {
				free: {
					description: 'No call, or one that is over and still shown until dismissed',
					// Outside a call the camera is released while the page is hidden; in one it stays.
					entry: sendTo('capture', { type: 'camera.inCall', inCall: false }),
					exit: sendTo('capture', { type: 'camera.inCall', inCall: true }),
					on: {
						'signaling.incomingCall': [
							{
								guard: 'callCodeMissing',
								actions: ['queueCall', raise({ type: 'call.prefetch' })],
								description: "Held until the call machine's code is here"
							},
							{
								target: 'ringing',
								actions: ['stopCall', 'spawnIncoming'],
								description: 'A new call rings; never answered by itself'
							}
						],
						'call.dial': [
							{ guard: 'invalidDial', actions: 'assignDialError' },
							{ guard: 'dialingSelf', actions: assign({ dialError: 'self' }) },
							{
								guard: and(['signalingOpen', 'callCodeMissing']),
								actions: ['queueCall', raise({ type: 'call.prefetch' })],
								description: "Held until the call machine's code is here"
							},
							{ guard: 'signalingOpen', target: 'active', actions: ['stopCall', 'spawnOutgoing'] },
							{ actions: 'assignDialError', description: 'Signaling is not open: nothing to place it on' }
						],
						'call.dismiss': {
							actions: ['stopCall', assign({ call: null, dialError: null })],
							description: 'Clear an ended call and its message'
						}
					}
				},
				ringing: {
					on: {
						'signaling.incomingCall': { actions: 'rejectBusy', description: 'Already ringing: busy' },
						'signaling.control': { guard: 'forCurrentCall', actions: 'forwardControl' },
						'call.phase': { guard: { type: 'phaseIs', params: 'setup' }, target: 'active', description: 'Accepted' }
					}
				},
				active: {
					initial: 'setup',
					on: {
						'signaling.control': { guard: 'forCurrentCall', actions: 'forwardControl' },
						// To the call, whose chat takes it only from its peer once connected.
						'signaling.chat': { actions: 'forwardChat' },
						'signaling.peerUnavailable': { guard: 'toCurrentCallee', actions: 'forwardPeerUnavailable' },
						'signaling.webrtcError': { actions: 'forwardWebrtcError' }
					},
					states: {
						setup: {
							// The call opens its microphone as it enters setup (dial, or accept): on
							// iOS that request can end the camera's track, which the capture machine
							// then waits out (call.micOpened ends the wait).
							entry: sendTo('capture', { type: 'camera.micOpening' }),
							on: {
								'signaling.incomingCall': { actions: 'rejectBusy', description: 'A call is being set up: busy' },
								'call.phase': { guard: { type: 'phaseIs', params: 'connected' }, target: 'connected' }
							}
						},
						connected: {
							on: {
								'signaling.incomingCall': [
									{ guard: 'sameCall', actions: 'forwardRedial', description: "The far side's recovery re-dial of this call" },
									{ actions: 'rejectBusy', description: 'In a call: busy' }
								],
								'signaling.photo': [
									{ guard: 'photoFromCurrentCall', actions: 'photoIncoming' },
									{ actions: 'refusePhoto' }
								],
								'photo.sendToPeer': { actions: 'sendPhotoToPeer' },
								'call.phase': { guard: { type: 'phaseIs', params: 'recovering' }, target: 'recovering' }
							}
						},
						recovering: {
							on: {
								'signaling.incomingCall': [
									{ guard: 'sameCall', actions: 'forwardRedial', description: "The caller's re-dial: adopted without a prompt" },
									{ actions: 'rejectBusy' }
								],
								'call.phase': { guard: { type: 'phaseIs', params: 'connected' }, target: 'connected' }
							}
						}
					}
				}
			},
			on: {
				'call.ended': {
					guard: 'endedIsCurrent',
					target: '.free',
					actions: ['recordRecent', 'persistRecents'],
					description: 'The call is over; its message stays until dismissed, and it joins the recents'
				},
				'signaling.photo': { actions: 'refusePhoto' },
				// No call under way: closed unanswered.
				'signaling.chat': { actions: 'refuseChat' },
				'photo.sendToPeer': { actions: 'sendPhotoNoCall' }
			}
		},
		callCode: {
			initial: 'absent',
			states: {
				absent: {
					description: "The call machine's code is not loaded: it stays out of the first load",
					on: { 'call.prefetch': 'loading' }
				},
				loading: {
					invoke: { src: 'loadCallMachine', id: 'callLoader' },
					on: {
						'call.machineLoaded': {
							target: 'ready',
							actions: [assign({ callLogic: ({ event }) => event.machine }), 'flushCalls']
						},
						'call.machineFailed': {
							target: 'absent',
							actions: assign({ callQueue: [], dialError: ({ context }) => (context.callQueue.length ? 'notConnected' : context.dialError) }),
							description: 'Its code could not load (offline before it was cached): the next call tries again'
						}
					}
				},
				ready: {
					invoke: { src: 'prepareCalls', id: 'callPrep' },
					description: "Loaded; the device certificate and the code beside a call load ahead of the first one"
				}
			}
		},
		photo: {
			initial: 'absent',
			states: {
				absent: {
					description: "The photo machine's code is not loaded: it stays out of the first load",
					on: {
						'photo.*': { target: 'loading', actions: 'photoUi', description: 'The shutter, the gallery or a send: load it' },
						'signaling.photo': {
							guard: and([stateIn({ call: { active: 'connected' } }), 'photoFromCurrentCall']),
							target: 'loading',
							description: "A photo from the connected call's peer: load it to receive"
						}
					}
				},
				loading: {
					entry: [assign({ photoLoading: true }), 'startPhotoLoader'],
					on: {
						'photo.machineLoaded': { target: 'ready', actions: ['stopPhotoLoader', 'spawnPhoto', 'flushPhoto'] },
						'photo.machineFailed': {
							target: 'absent',
							actions: ['stopPhotoLoader', assign({ photoLoading: false, photoQueue: [] })],
							description: 'Its code could not load (offline before it was cached): the next tap tries again'
						},
						'photo.*': { actions: 'photoUi' }
					}
				},
				ready: {
					on: { 'photo.*': { actions: 'photoUi' } }
				}
			}
		}
	}
});
