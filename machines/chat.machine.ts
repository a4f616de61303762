import { assign, enqueueActions, sendTo, setup, stateIn } from 'xstate';
import type { DataConnection, Peer } from 'peerjs';
import { chatLimits, chatLink, cleanText, refuseChat, takeToken, type ChatLinkEvent, type ChatMessage, type ChatOffer, type ChatRefusal } from './actors/chat';

export interface ChatInput {
	peer: Peer | null;
	direction: 'outgoing' | 'incoming';
	remoteId: string;
	callId: string;
}

/**
 * Events from the call: `chat.connect` (the call is connected: the caller opens the chat
 * connection if it has none), `chat.incoming { conn, from, offer }` (a chat connection arrived
 * while the call is connected; only the call's peer naming the call, on the callee, is taken).
 * From the UI: `chat.send { text }`, `chat.expand`, `chat.collapse`, `chat.dismiss` (clear the
 * notice). From the link (actors/chat.ts): `chat.opened`, `chat.received`, `chat.peerRefused`,
 * `chat.closed`.
 */
export type ChatEvent =
	| ChatLinkEvent
	| { type: 'chat.connect' }
	| { type: 'chat.incoming'; conn: DataConnection; from: string; offer: unknown }
	| { type: 'chat.send'; text: string }
	| { type: 'chat.expand' }
	| { type: 'chat.collapse' }
	| { type: 'chat.dismiss' };

/**
 * What the chat says besides the messages: `too-long` (yours was over the limit: not sent),
 * `refused-too-long` / `refused-rate` (some of theirs were turned away), `peer-refused-*` (the
 * far side turned one of yours away).
 */
export type ChatNotice = 'too-long' | 'refused-too-long' | 'refused-rate' | 'peer-refused-too-long' | 'peer-refused-rate';

export interface ChatContext extends ChatInput {
	/** The callee's accepted connection, handed to the link. */
	conn: DataConnection | null;
	/** This call's messages, oldest first, the newest `chatLimits.kept`. Never stored: gone
	 * with the call unless the person saves them. */
	messages: ChatMessage[];
	nextId: number;
	/** Their messages that arrived while the chat was collapsed. */
	unread: number;
	/** Their rate (takeToken). */
	bucket: { tokens: number; at: number };
	notice: ChatNotice | null;
	/** Caller: reconnections since the link was last open. */
	retries: number;
}

type Received = Extract<ChatEvent, { type: 'chat.received' }>;

export const chatMachine = setup({
	types: {
		context: {} as ChatContext,
		events: {} as ChatEvent,
		input: {} as ChatInput
	},
	actors: { chatLink },
	guards: {
		isCaller: ({ context }) => context.direction === 'outgoing',
		canRetry: ({ context }) => context.direction === 'outgoing' && context.retries < 5,
		/** Only the callee takes a connection, from the call's peer, naming this call, raw text. */
		fromCallPeer: ({ context, event }) =>
			event.type === 'chat.incoming' &&
			context.direction === 'incoming' &&
			event.from === context.remoteId &&
			(event.offer as ChatOffer | null)?.callId === context.callId &&
			event.conn.serialization === 'raw',
		theirsTooLong: ({ event }) => (event as Received).text.length > chatLimits.chars,
		theirsTooFast: ({ context, event }) => !takeToken(context.bucket, (event as Received).at),
		sendable: ({ event }) => event.type === 'chat.send' && cleanText(event.text) !== '',
		oursTooLong: ({ event }) => event.type === 'chat.send' && event.text.length > chatLimits.chars
	},
	delays: {
		/** The chat channel must open within this. */
		openTimeout: 10_000,
		/** Caller: before opening the chat again after it closed (the call goes on). */
		retryDelay: 2000,
		/** Caller: after the call connects, before opening the chat. Its own connection (ICE,
		 * DTLS, SCTP) opened at once competed with the call's first frames: measured with
		 * `npm run bench`, the far side's first frame came later while it was set up. */
		openDelay: 1000
	},
	actions: {
		assignConn: assign({ conn: ({ event }) => (event.type === 'chat.incoming' ? event.conn : null) }),
		refuse: ({ event }) => refuseChat(event.type === 'chat.incoming' ? event.conn : null),
		addTheirs: enqueueActions(({ context, event, enqueue, check }) => {
			const e = event as Received;
			enqueue.assign({
				messages: [...context.messages, { id: context.nextId, from: 'them' as const, text: cleanText(e.text), at: e.at }].slice(-chatLimits.kept),
				nextId: context.nextId + 1,
				bucket: takeToken(context.bucket, e.at) ?? context.bucket,
				unread: check(stateIn({ panel: 'collapsed' }) as never) ? context.unread + 1 : 0
			});
		}),
		sendOurs: enqueueActions(({ context, event, enqueue }) => {
			if (event.type !== 'chat.send') return;
			const text = cleanText(event.text);
			enqueue.sendTo('link', { type: 'chat.out', text });
			enqueue.assign({
				messages: [...context.messages, { id: context.nextId, from: 'me' as const, text, at: Date.now() }].slice(-chatLimits.kept),
				nextId: context.nextId + 1,
				notice: null
			});
		}),
		reply: sendTo('link', (_, why: ChatRefusal) => ({ type: 'chat.reply' as const, why })),
		note: assign((_, notice: ChatNotice) => ({ notice }))
	}
}).createMachine({
	id: 'chat',
	type: 'parallel',
	context: ({ input }) => ({
		...input,
		conn: null,
		messages: [],
		nextId: 1,
		unread: 0,
		bucket: { tokens: chatLimits.burst, at: 0 },
		notice: null,
		retries: 0
	}),
	on: {
		'chat.dismiss': { actions: assign({ notice: null }) }
	},
	states: {
		link: {
			initial: 'waiting',
			on: {
				'chat.incoming': [
					{
						guard: 'fromCallPeer',
						target: '.linked',
						reenter: true,
						actions: 'assignConn',
						description: "The call peer's chat connection (a new one replaces the old)"
					},
					{ actions: 'refuse', description: 'Not the call peer, not this call, or we are the caller: closed unanswered' }
				]
			},
			states: {
				waiting: {
					description: 'Not connected yet (the callee waits for the caller to open the chat)',
					on: { 'chat.connect': { guard: 'isCaller', target: 'settling' } }
				},
				settling: {
					description: "The call has just connected: the chat opens a moment later, after the call's first frames",
					after: { openDelay: 'linked' }
				},
				retrying: {
					after: { retryDelay: 'linked' },
					on: { 'chat.connect': 'linked' }
				},
				linked: {
					invoke: {
						src: 'chatLink',
						id: 'link',
						input: ({ context }) => ({ peer: context.peer, remoteId: context.remoteId, callId: context.callId, conn: context.conn })
					},
					on: {
						'chat.closed': [
							{ guard: 'canRetry', target: 'retrying', actions: assign({ retries: ({ context }) => context.retries + 1 }) },
							{ target: 'waiting', actions: assign({ conn: null }) }
						]
					},
					initial: 'connecting',
					states: {
						connecting: {
							on: { 'chat.opened': { target: 'open', actions: assign({ retries: 0 }) } },
							after: {
								openTimeout: [
									{ guard: 'canRetry', target: '#chat.link.retrying', actions: assign({ retries: ({ context }) => context.retries + 1 }) },
									{ target: '#chat.link.waiting' }
								]
							}
						},
						open: {
							on: {
								'chat.send': [
									{ guard: 'oursTooLong', actions: { type: 'note', params: 'too-long' } },
									{ guard: 'sendable', actions: 'sendOurs' }
								],
								'chat.received': [
									{
										guard: 'theirsTooLong',
										actions: [{ type: 'reply', params: 'too-long' }, { type: 'note', params: 'refused-too-long' }],
										description: 'Over chatLimits.chars: not shown, both told'
									},
									{
										guard: 'theirsTooFast',
										actions: [{ type: 'reply', params: 'rate' }, { type: 'note', params: 'refused-rate' }],
										description: 'Past the burst and rate: dropped, both told'
									},
									{ actions: 'addTheirs' }
								],
								'chat.peerRefused': [
									{ guard: ({ event }) => event.why === 'too-long', actions: { type: 'note', params: 'peer-refused-too-long' } },
									{ actions: { type: 'note', params: 'peer-refused-rate' } }
								]
							}
						}
					}
				}
			}
		},
		panel: {
			initial: 'collapsed',
			states: {
				collapsed: {
					description: 'Their new messages are counted as unread',
					on: { 'chat.expand': { target: 'expanded', actions: assign({ unread: 0 }) } }
				},
				expanded: {
					on: { 'chat.collapse': 'collapsed' }
				}
			}
		}
	}
});
