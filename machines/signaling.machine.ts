import { assign, sendParent, sendTo, setup } from 'xstate';
import { configFailure, fatalSignalingReasons, signalingFailure, type Failure, type SignalingFailureReason } from './errors';
import {
	claimIdentity,
	loadConfig,
	networkWatch,
	peerConnection,
	saveIdentity,
	type Identity,
	type NetworkEvent,
	type PeerActorEvent,
	type SignalingConfig
} from './actors/signaling';

/**
 * Events (besides the Peer actor's `peer.*` and the network watcher's `network.*`):
 * - `signaling.retry`: from `failed`, try again with the same identity.
 * - `signaling.freshId`: forget the saved ID and ask the server for a new one (after
 *   unavailable-id).
 * - `signaling.useId { id }`: pin an ID the user chose.
 *
 * Sent to the parent (the session):
 * - `signaling.peer { peer }`: a new Peer object; calls are placed on it.
 * - `signaling.incomingCall { call }`: an incoming media call.
 * - `signaling.control { from, message }`: decline, busy or cancel from another peer.
 * - `signaling.photo { from, conn, offer }`: a peer offers a photo.
 * - `signaling.chat { from, conn, offer }`: a peer opens a chat.
 * - `signaling.peerUnavailable { peerId }`: the server knows no peer with that ID (a dial failed).
 * - `signaling.webrtcError { message }`: PeerJS failed a negotiation step (setRemoteDescription,
 *   createAnswer, addIceCandidate) and reported it on the Peer, not on the call: the call must
 *   hear of it. Signaling itself is unaffected.
 */
export type SignalingEvent =
	| PeerActorEvent
	| NetworkEvent
	| { type: 'signaling.retry' }
	| { type: 'signaling.freshId' }
	| { type: 'signaling.useId'; id: string };

export interface SignalingContext {
	config: SignalingConfig | null;
	identity: Identity | null;
	/** Own ID once the server accepted it. */
	id: string | null;
	/** Failed attempts since the last open: drives the backoff. */
	attempt: number;
	failure: Failure<SignalingFailureReason> | null;
	/** Ask for a fresh ID on the next identity claim. */
	fresh: boolean;
	pinned: string | null;
	/** Malformed signaling messages dropped before PeerJS saw them (peer.refusedMessage). */
	refused: number;
	/** False once PeerJS's internals turned out not to be guardable (peer.unguarded). */
	guarded: boolean;
}

/** Backoff: 1 s doubling, capped at 8 s, ±25 % jitter so a restarted server is not stormed. */
export function backoffMs(attempt: number, random = Math.random()): number {
	const base = Math.min(1000 * 2 ** Math.max(0, attempt), 8000);
	return Math.min(8000, Math.round(base * (0.75 + random * 0.5)));
}

function isFatal(event: SignalingEvent): boolean {
	return (
		// Stryker disable next-line ConditionalExpression: only used on peer.error; narrows the type
		event.type === 'peer.error' &&
		fatalSignalingReasons.includes(signalingFailure(event.errorType).reason)
	);
}

// Stryker (npm run mutation) skips the mutants marked below: they cannot change what the
// machine does, so no test could tell them apart. Guards and actions here each run on one
// event type only; their `event.type === …` checks narrow the type for TypeScript, and the other
// branch is unreachable.
export const signalingMachine = setup({
	// Stryker disable next-line ObjectLiteral: types only inform TypeScript
	types: {
		context: {} as SignalingContext,
		events: {} as SignalingEvent
	},
	actors: { loadConfig, claimIdentity, peerConnection, networkWatch },
	guards: {
		fatal: ({ event }) => isFatal(event),
		// Stryker disable next-line ConditionalExpression: narrows the type (see above)
		peerUnavailable: ({ event }) => event.type === 'peer.error' && event.errorType === 'peer-unavailable',
		// Stryker disable next-line ConditionalExpression: narrows the type (see above)
		webrtcError: ({ event }) => event.type === 'peer.error' && event.errorType === 'webrtc',
		/** A config was loaded (from the server, remembered, or the cloud on a 404). */
		hasConfig: ({ context }) => context.config !== null
	},
	delays: {
		/** Wait before the next reconnect attempt (exponential backoff with jitter); `attempt`
		 * already counts the failure that got us here, so the first wait is ~1 s. */
		reconnectDelay: ({ context }) => backoffMs(context.attempt - 1),
		/** A reconnect that neither opens nor fails within this is treated as failed. */
		reconnectTimeout: 6000,
		/** A first registration that neither opens nor fails within this (PeerJS still loading on
		 * a bad connection, a server that accepts the socket and says nothing) is treated as
		 * failed, and retried with the backoff. */
		registerTimeout: 10_000
	},
	actions: {
		connectPeer: sendTo('peer', ({ context }) => ({
			type: 'peer.connect' as const,
			config: context.config!,
			// registering is entered only once claimIdentity has set the identity.
			// Stryker disable next-line OptionalChaining: identity is set here (see above)
			id: context.identity?.id ?? null,
			// Stryker disable next-line OptionalChaining,StringLiteral: identity is set here (see above)
			token: context.identity?.token ?? ''
		})),
		reconnectPeer: sendTo('peer', { type: 'peer.reconnect' }),
		assignOpen: assign(({ context, event }) => {
			// open is entered only on peer.opened.
			// Stryker disable next-line ConditionalExpression: narrows the type (see above)
			const id = event.type === 'peer.opened' ? event.id : context.id;
			return {
				id,
				attempt: 0,
				failure: null,
				fresh: false,
				// Stryker disable next-line ConditionalExpression,LogicalOperator: identity and id are both set on open
				identity: context.identity && id ? { ...context.identity, id } : context.identity
			};
		}),
		/** Saves the server's ID with our token so links and QR codes keep working. */
		rememberIdentity: ({ context }) => {
			if (context.identity && !context.identity.temporary && context.id) {
				saveIdentity({ id: context.id, token: context.identity.token });
			}
		},
		assignFailure: assign({
			// Stryker disable next-line ConditionalExpression,StringLiteral: only run on peer.error (see above)
			failure: ({ event }) => signalingFailure(event.type === 'peer.error' ? event.errorType : 'disconnected')
		}),
		/** No answer from the server in time: to the user that is the same as unreachable. */
		assignTimeout: assign({ failure: () => signalingFailure('network') }),
		/** loadConfig rejected: no usable /signaling.json and nothing remembered. */
		assignConfigFailure: assign({ failure: ({ event }) => configFailure((event as { error?: unknown }).error) }),
		countAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
		/** The session hands the Peer to calls and routes what arrives. */
		reportPeer: sendParent(({ event }) => ({
			type: 'signaling.peer',
			// Stryker disable next-line ConditionalExpression: narrows the type (see above)
			peer: event.type === 'peer.created' ? event.peer : null
		})),
		reportIncomingCall: sendParent(({ event }) => ({
			type: 'signaling.incomingCall',
			// Stryker disable next-line ConditionalExpression: narrows the type (see above)
			call: event.type === 'peer.call' ? event.call : null
		})),
		reportControl: sendParent(({ event }) =>
			// Stryker disable next-line ConditionalExpression: narrows the type (see above)
			event.type === 'peer.control'
				? { type: 'signaling.control', from: event.from, message: event.message }
				: // Stryker disable next-line ObjectLiteral,StringLiteral: unreachable (see above)
					{ type: 'signaling.ignored' }
		),
		reportPhoto: sendParent(({ event }) => ({ ...event, type: 'signaling.photo' })),
		reportChat: sendParent(({ event }) => ({ ...event, type: 'signaling.chat' })),
		reportPeerUnavailable: sendParent(({ event }) => ({
			type: 'signaling.peerUnavailable',
			// Stryker disable next-line ConditionalExpression: narrows the type (see above)
			peerId: event.type === 'peer.error' ? event.peerId : null
		})),
		reportWebrtcError: sendParent(({ event }) => ({
			type: 'signaling.webrtcError',
			// Stryker disable next-line ConditionalExpression,StringLiteral: narrows the type (see above)
			message: event.type === 'peer.error' ? event.message : ''
		}))
	}
}).createMachine({
	id: 'signaling',
	context: {
		config: null,
		identity: null,
		id: null,
		attempt: 0,
		failure: null,
		fresh: false,
		pinned: null,
		refused: 0,
		guarded: true
	},
	invoke: [
		{ src: 'peerConnection', id: 'peer' },
		{
			src: 'networkWatch',
			// Stryker disable next-line StringLiteral: nothing addresses this invoked actor by id
			id: 'network'
		}
	],
	on: {
		// The Peer goes to the session (which places calls on it), not into context: context stays
		// serialisable for the inspector.
		'peer.created': { actions: 'reportPeer' },
		'peer.call': { actions: 'reportIncomingCall' },
		'peer.control': { actions: 'reportControl' },
		'peer.photo': { actions: 'reportPhoto' },
		'peer.chat': { actions: 'reportChat' },
		'peer.refusedMessage': {
			actions: assign({ refused: ({ context }) => context.refused + 1 }),
			// Stryker disable next-line StringLiteral: descriptions only label the chart
			description: 'A malformed signaling message was dropped before PeerJS saw it; the Peer works on'
		},
		'peer.unguarded': {
			actions: assign({ guarded: false }),
			// Stryker disable next-line StringLiteral: descriptions only label the chart
			description: 'PeerJS changed: its signaling messages go unchecked'
		},
		'signaling.freshId': [
			{
				guard: 'hasConfig',
				target: '.connecting.identity',
				actions: assign({ fresh: true, pinned: null, id: null, failure: null, attempt: 0 }),
				// Stryker disable next-line StringLiteral: descriptions only label the chart
				description: 'Forget the saved ID; the server assigns a new one'
			},
			{
				target: '.connecting.config',
				actions: assign({ fresh: true, pinned: null, id: null, failure: null, attempt: 0 }),
				// Stryker disable next-line StringLiteral: descriptions only label the chart
				description: 'No config yet: fetch it first, then ask for a new ID'
			}
		],
		'signaling.useId': [
			{
				guard: 'hasConfig',
				target: '.connecting.identity',
				actions: assign({ pinned: ({ event }) => event.id, id: null, failure: null, attempt: 0 })
			},
			{
				target: '.connecting.config',
				actions: assign({ pinned: ({ event }) => event.id, id: null, failure: null, attempt: 0 }),
				// Stryker disable next-line StringLiteral: descriptions only label the chart
				description: 'No config yet: fetch it first, then register the pinned ID'
			}
		]
	},
	initial: 'connecting',
	states: {
		connecting: {
			initial: 'config',
			states: {
				config: {
					invoke: {
						src: 'loadConfig',
						// Stryker disable next-line StringLiteral: nothing addresses this invoked actor by id
						id: 'loadConfig',
						onDone: { target: 'identity', actions: assign({ config: ({ event }) => event.output }) },
						onError: {
							target: '#signaling.disconnected.noConfig',
							actions: ['assignConfigFailure', 'countAttempt'],
							// Stryker disable next-line StringLiteral: descriptions only label the chart
							description: 'No usable /signaling.json and none remembered: retry with backoff, never the public cloud'
						}
					}
				},
				identity: {
					invoke: {
						src: 'claimIdentity',
						// Stryker disable next-line StringLiteral: nothing addresses this invoked actor by id
						id: 'claimIdentity',
						input: ({ context }) => ({ fresh: context.fresh, pinned: context.pinned }),
						onDone: {
							target: 'registering',
							actions: assign({ identity: ({ event }) => event.output })
						}
					}
				},
				registering: {
					entry: 'connectPeer',
					after: {
						registerTimeout: {
							target: '#signaling.disconnected',
							actions: ['assignTimeout', 'countAttempt'],
							// Stryker disable next-line StringLiteral: descriptions only label the chart
							description: 'Neither open nor an error: retry with backoff'
						}
					},
					on: {
						'peer.opened': { target: '#signaling.open' },
						'peer.error': [
							{ guard: 'fatal', target: '#signaling.failed', actions: 'assignFailure' },
							{ guard: 'peerUnavailable', actions: 'reportPeerUnavailable' },
							{ guard: 'webrtcError', actions: 'reportWebrtcError' },
							{
								target: '#signaling.disconnected',
								actions: ['assignFailure', 'countAttempt'],
								// Stryker disable next-line StringLiteral: descriptions only label the chart
								description: 'Server unreachable at start: retry with backoff'
							}
						]
					}
				}
			}
		},
		open: {
			entry: ['assignOpen', 'rememberIdentity'],
			on: {
				'peer.disconnected': {
					target: 'disconnected',
					actions: assign({ failure: () => signalingFailure('disconnected') })
				},
				'peer.error': [
					{ guard: 'fatal', target: 'failed', actions: 'assignFailure' },
					{ guard: 'peerUnavailable', actions: 'reportPeerUnavailable' },
					{ guard: 'webrtcError', actions: 'reportWebrtcError' },
					{ target: 'disconnected', actions: 'assignFailure' }
				]
			}
		},
		disconnected: {
			initial: 'peer',
			on: {
				'peer.opened': 'open',
				'peer.error': [
					{ guard: 'fatal', target: 'failed', actions: 'assignFailure' },
					{ guard: 'peerUnavailable', actions: 'reportPeerUnavailable' },
					{ guard: 'webrtcError', actions: 'reportWebrtcError' }
				]
			},
			states: {
				peer: {
					// Stryker disable next-line StringLiteral: descriptions only label the chart
					description: 'The Peer lost the server, or never reached it: reconnect after the backoff',
					after: {
						reconnectDelay: { target: '#signaling.reconnecting' }
					},
					on: {
						'network.online': {
							target: '#signaling.reconnecting',
							// Stryker disable next-line StringLiteral: descriptions only label the chart
							description: 'Network back: retry at once'
						},
						'network.foreground': {
							target: '#signaling.reconnecting',
							// Stryker disable next-line StringLiteral: descriptions only label the chart
							description: 'Back in the foreground: retry at once'
						},
						'network.changed': {
							target: '#signaling.reconnecting',
							// Stryker disable next-line StringLiteral: descriptions only label the chart
							description: 'Connection type changed: retry at once'
						}
					}
				},
				noConfig: {
					// Stryker disable next-line StringLiteral: descriptions only label the chart
					description: "This app's server gave no usable config and none is remembered: fetch it again after the backoff",
					after: {
						reconnectDelay: { target: '#signaling.connecting.config' }
					},
					on: {
						'network.online': {
							target: '#signaling.connecting.config',
							// Stryker disable next-line StringLiteral: descriptions only label the chart
							description: 'Network back: fetch the config at once'
						},
						'network.foreground': {
							target: '#signaling.connecting.config',
							// Stryker disable next-line StringLiteral: descriptions only label the chart
							description: 'Back in the foreground: fetch the config at once'
						},
						'network.changed': {
							target: '#signaling.connecting.config',
							// Stryker disable next-line StringLiteral: descriptions only label the chart
							description: 'Connection type changed: fetch the config at once'
						}
					}
				}
			}
		},
		reconnecting: {
			entry: 'reconnectPeer',
			after: {
				reconnectTimeout: { target: 'disconnected', actions: 'countAttempt' }
			},
			on: {
				'peer.opened': 'open',
				'peer.disconnected': { target: 'disconnected', actions: 'countAttempt' },
				'peer.error': [
					{ guard: 'fatal', target: 'failed', actions: 'assignFailure' },
					{ guard: 'peerUnavailable', actions: 'reportPeerUnavailable' },
					{ guard: 'webrtcError', actions: 'reportWebrtcError' },
					{ target: 'disconnected', actions: ['assignFailure', 'countAttempt'] }
				]
			}
		},
		failed: {
			on: {
				'signaling.retry': {
					target: 'connecting.registering',
					actions: assign({ failure: null, attempt: 0 })
				}
			}
		}
	}
});
