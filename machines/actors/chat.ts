/**
 * Chat in a call: its own reliable DataConnection to the call's peer, named by the call
 * (metadata `{ chat: { callId } }`, serialization `raw`), JSON text messages on it. Everything
 * from the far side is checked and bounded here before it becomes an event; the chat machine
 * applies the rest (size, rate, who). Loaded when a call starts.
 */
import { fromCallback } from 'xstate';
import type { DataConnection, Peer } from 'peerjs';
import { closeQuietly } from './connection';

/** Per message and per peer: at most `chars` characters (UTF-16 units, what an input's
 * maxlength counts); `burst` messages at once, then `perSecond`; the call keeps the newest
 * `kept` messages. */
export const chatLimits = { chars: 2000, burst: 8, perSecond: 1, kept: 500 } as const;
/** The longest frame read at all: a message of `chars` characters, every one escaped. */
const maxFrameChars = chatLimits.chars * 6 + 64;

/** What the caller announces in the DataConnection's metadata: `{ chat: ChatOffer }`. */
export interface ChatOffer {
	callId: string;
}

/** Why a receiver turned a message away (the sender is told): over `chars`, or over the rate. */
export type ChatRefusal = 'too-long' | 'rate';

/** One frame on the chat connection. */
export type ChatFrame = { t: 'msg'; text: string } | { t: 'refuse'; why: ChatRefusal };

export function parseChatFrame(data: unknown): ChatFrame | null {
	if (typeof data !== 'string' || data.length > maxFrameChars) return null;
	let v: unknown;
	try {
		v = JSON.parse(data);
	} catch {
		return null;
	}
	if (!v || typeof v !== 'object') return null;
	const m = v as Record<string, unknown>;
	if (m.t === 'msg' && typeof m.text === 'string') return { t: 'msg', text: m.text };
	if (m.t === 'refuse' && (m.why === 'too-long' || m.why === 'rate')) return { t: 'refuse', why: m.why };
	return null;
}

// Control characters but tab and newline, and the direction overrides and isolates that can
// make text display as other text.
// eslint-disable-next-line no-control-regex
const unsafe = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** A message as it may be shown (as text, never markup): line ends made `\n`, control and
 * direction characters removed, no blank lines around it. */
export function cleanText(text: string): string {
	return text.replace(/\r\n?/g, '\n').replace(unsafe, '').replace(/^\s*\n|\n\s*$/g, '').trimEnd();
}

export interface ChatMessage {
	/** Unique in this call. */
	id: number;
	from: 'me' | 'them';
	text: string;
	/** When it was sent or arrived (ms since epoch). */
	at: number;
}

/** The chat as a plain-text file, for "Save chat". */
export function transcript(messages: ChatMessage[], names: { me: string; them: string }): string {
	const time = (at: number) => new Date(at).toISOString().replace('T', ' ').slice(0, 19);
	return messages.map((m) => `[${time(m.at)}] ${m.from === 'me' ? names.me : names.them}: ${m.text}`).join('\n') + '\n';
}

/** Token bucket: the tokens left after a message at `at`, or null when none is left. */
export function takeToken(bucket: { tokens: number; at: number }, at: number): { tokens: number; at: number } | null {
	const elapsed = Math.max(0, at - bucket.at) / 1000;
	const tokens = Math.min(chatLimits.burst, bucket.tokens + elapsed * chatLimits.perSecond);
	return tokens >= 1 ? { tokens: tokens - 1, at } : null;
}

export interface ChatLinkInput {
	peer: Peer | null;
	remoteId: string;
	callId: string;
	/** The callee's: the caller's connection, already accepted. Null: the caller dials one. */
	conn: DataConnection | null;
}

/** Commands: `chat.out { text }` (send a message), `chat.reply { why }` (refuse theirs). */
export type ChatLinkCommand = { type: 'chat.out'; text: string } | { type: 'chat.reply'; why: ChatRefusal };

/**
 * Events sent back: `chat.opened` (the channel is open), `chat.received { text, at }` (a
 * message, still to be checked for size and rate), `chat.peerRefused { why }` (the far side
 * turned one of ours away), `chat.closed` (the channel closed or failed; it is let go).
 */
export type ChatLinkEvent =
	| { type: 'chat.opened' }
	| { type: 'chat.received'; text: string; at: number }
	| { type: 'chat.peerRefused'; why: ChatRefusal }
	| { type: 'chat.closed' };

export const chatLink = fromCallback<ChatLinkCommand, ChatLinkInput>(({ input, sendBack, receive }) => {
	let stopped = false;
	const send = (e: ChatLinkEvent) => {
		if (!stopped) sendBack(e);
	};
	let conn: DataConnection | null = input.conn;
	if (!conn) {
		try {
			conn = input.peer && !input.peer.destroyed
				? input.peer.connect(input.remoteId, { metadata: { chat: { callId: input.callId } }, serialization: 'raw', reliable: true })
				: null;
		} catch {
			conn = null;
		}
	}
	if (!conn) {
		send({ type: 'chat.closed' });
		return;
	}
	const c = conn;
	const write = (frame: ChatFrame) => {
		try {
			if (c.open) c.send(JSON.stringify(frame));
		} catch {
			/* closing: its close event follows */
		}
	};
	c.on('open', () => send({ type: 'chat.opened' }));
	c.on('data', (data) => {
		const frame = parseChatFrame(data);
		if (frame?.t === 'msg') send({ type: 'chat.received', text: frame.text, at: Date.now() });
		else if (frame?.t === 'refuse') send({ type: 'chat.peerRefused', why: frame.why });
	});
	c.on('close', () => send({ type: 'chat.closed' }));
	c.on('error', () => send({ type: 'chat.closed' }));
	if (c.open) send({ type: 'chat.opened' });

	receive((command) => {
		if (command.type === 'chat.out') write({ t: 'msg', text: command.text });
		else write({ t: 'refuse', why: command.why });
	});
	return () => {
		stopped = true;
		c.removeAllListeners();
		closeQuietly(c);
	};
});

/** Turns a chat connection away: closed before PeerJS answers it when done at once (the
 * stranger gets neither an open channel nor our ICE candidates). */
export function refuseChat(conn: DataConnection | null | undefined): void {
	closeQuietly(conn);
}
