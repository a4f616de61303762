import { describe, expect, test } from 'vitest';
import { createActor, fromCallback, SimulatedClock } from 'xstate';
import { chatMachine, type ChatInput } from '$machines/chat.machine';
import { chatLimits, chatLink, cleanText, parseChatFrame, takeToken, transcript, type ChatLinkCommand } from '$machines/actors/chat';

/** The chat with a fake link: what it was told, how often it started and with which input. */
function start(direction: 'outgoing' | 'incoming' = 'outgoing') {
	const rec = { commands: [] as ChatLinkCommand[], starts: [] as unknown[], stops: 0, back: (_e: { type: string; [k: string]: unknown }) => {} };
	const machine = chatMachine.provide({
		actors: {
			chatLink: fromCallback(({ input, sendBack, receive }) => {
				rec.starts.push(input);
				rec.back = sendBack as never;
				receive((c) => rec.commands.push(c as ChatLinkCommand));
				return () => void rec.stops++;
			}) as never
		}
	});
	const clock = new SimulatedClock();
	const input: ChatInput = { peer: null, direction, remoteId: 'bob', callId: 'c1' };
	const actor = createActor(machine, { input, clock }).start();
	const value = () => actor.getSnapshot().value as { link: unknown; panel: string };
	const ctx = () => actor.getSnapshot().context;
	return { actor, rec, clock, value, ctx };
}
type T = ReturnType<typeof start>;
const conn = (serialization = 'raw') => {
	const c = { serialization, closed: 0, close: () => void c.closed++ };
	return c;
};

function openCaller(t: T) {
	t.actor.send({ type: 'chat.connect' });
	t.clock.increment(1000);
	t.rec.back({ type: 'chat.opened' });
	expect(t.value().link).toEqual({ linked: 'open' });
}

describe('chat machine', () => {
	test('waits for the call; the caller opens the link on connect and sends what is typed, cleaned', () => {
		const t = start('outgoing');
		expect(t.value()).toEqual({ link: 'waiting', panel: 'collapsed' });
		t.actor.send({ type: 'chat.send', text: 'too early' });
		expect(t.ctx().messages).toEqual([]);
		t.actor.send({ type: 'chat.connect' });
		// A moment after the call connects, so its first frames are not competing with it.
		expect(t.value().link).toBe('settling');
		t.clock.increment(999);
		expect(t.rec.starts).toEqual([]);
		t.clock.increment(1);
		expect(t.value().link).toEqual({ linked: 'connecting' });
		expect(t.rec.starts).toEqual([{ peer: null, remoteId: 'bob', callId: 'c1', conn: null }]);
		t.actor.send({ type: 'chat.send', text: 'still too early' });
		expect(t.rec.commands).toEqual([]);
		t.rec.back({ type: 'chat.opened' });
		t.actor.send({ type: 'chat.send', text: '  <b>hi</b>\u202e\r\nthere  ' });
		t.actor.send({ type: 'chat.send', text: ' \n ' });
		expect(t.rec.commands).toEqual([{ type: 'chat.out', text: '  <b>hi</b>\nthere' }]);
		expect(t.ctx().messages).toEqual([{ id: 1, from: 'me', text: '  <b>hi</b>\nthere', at: expect.any(Number) }]);
	});

	test('the callee does not dial: it takes only the call peer’s connection naming this call, raw text', () => {
		const t = start('incoming');
		t.actor.send({ type: 'chat.connect' });
		expect(t.value().link).toBe('waiting');
		const stranger = conn();
		const wrongCall = conn();
		const binary = conn('binary');
		t.actor.send({ type: 'chat.incoming', conn: stranger as never, from: 'mallory', offer: { callId: 'c1' } });
		t.actor.send({ type: 'chat.incoming', conn: wrongCall as never, from: 'bob', offer: { callId: 'c2' } });
		t.actor.send({ type: 'chat.incoming', conn: binary as never, from: 'bob', offer: { callId: 'c1' } });
		t.actor.send({ type: 'chat.incoming', conn: conn() as never, from: 'bob', offer: null });
		expect([stranger.closed, wrongCall.closed, binary.closed]).toEqual([1, 1, 1]);
		expect(t.value().link).toBe('waiting');
		expect(t.rec.starts).toEqual([]);
		const good = conn();
		t.actor.send({ type: 'chat.incoming', conn: good as never, from: 'bob', offer: { callId: 'c1' } });
		expect(good.closed).toBe(0);
		expect(t.rec.starts).toEqual([{ peer: null, remoteId: 'bob', callId: 'c1', conn: good }]);
		t.rec.back({ type: 'chat.opened' });
		// A new one from the call peer (after a re-dial) replaces the old link.
		const next = conn();
		t.actor.send({ type: 'chat.incoming', conn: next as never, from: 'bob', offer: { callId: 'c1' } });
		expect(t.rec.stops).toBe(1);
		expect(t.rec.starts).toHaveLength(2);
		expect(t.value().link).toEqual({ linked: 'connecting' });
		// A stranger meanwhile changes nothing.
		t.actor.send({ type: 'chat.incoming', conn: conn() as never, from: 'mallory', offer: { callId: 'c1' } });
		expect(t.rec.starts).toHaveLength(2);
	});

	test('the caller refuses every incoming chat connection (it opens its own)', () => {
		const t = start('outgoing');
		const c = conn();
		t.actor.send({ type: 'chat.incoming', conn: c as never, from: 'bob', offer: { callId: 'c1' } });
		expect(c.closed).toBe(1);
		expect(t.rec.starts).toEqual([]);
	});

	test('their messages: shown as cleaned text, counted unread while collapsed, read on expand', () => {
		const t = start();
		openCaller(t);
		t.rec.back({ type: 'chat.received', text: '<img src=x onerror=alert(1)>', at: 1000 });
		t.rec.back({ type: 'chat.received', text: 'a\u0000b', at: 1001 });
		expect(t.ctx().messages.map((m) => [m.from, m.text])).toEqual([
			['them', '<img src=x onerror=alert(1)>'],
			['them', 'ab']
		]);
		expect(t.ctx().unread).toBe(2);
		t.actor.send({ type: 'chat.expand' });
		expect(t.value().panel).toBe('expanded');
		expect(t.ctx().unread).toBe(0);
		t.rec.back({ type: 'chat.received', text: 'seen', at: 1002 });
		expect(t.ctx().unread).toBe(0);
		t.actor.send({ type: 'chat.collapse' });
		t.rec.back({ type: 'chat.received', text: 'later', at: 1003 });
		expect(t.ctx().unread).toBe(1);
		expect(t.rec.commands).toEqual([]);
	});

	test(`over ${chatLimits.chars} characters: theirs refused (both told), ours not sent`, () => {
		const t = start();
		openCaller(t);
		t.rec.back({ type: 'chat.received', text: 'x'.repeat(chatLimits.chars + 1), at: 1000 });
		expect(t.ctx().messages).toEqual([]);
		expect(t.ctx().notice).toBe('refused-too-long');
		expect(t.rec.commands).toEqual([{ type: 'chat.reply', why: 'too-long' }]);
		t.rec.back({ type: 'chat.received', text: 'x'.repeat(chatLimits.chars), at: 1000 });
		expect(t.ctx().messages).toHaveLength(1);
		t.actor.send({ type: 'chat.dismiss' });
		expect(t.ctx().notice).toBeNull();
		t.actor.send({ type: 'chat.send', text: 'y'.repeat(chatLimits.chars + 1) });
		expect(t.ctx().notice).toBe('too-long');
		expect(t.rec.commands.filter((c) => c.type === 'chat.out')).toEqual([]);
		t.actor.send({ type: 'chat.send', text: 'ok' });
		expect(t.ctx().notice).toBeNull();
	});

	test(`their rate: ${chatLimits.burst} at once, then ${chatLimits.perSecond}/s; the rest refused, both told`, () => {
		const t = start();
		openCaller(t);
		for (let i = 0; i < chatLimits.burst + 2; i++) t.rec.back({ type: 'chat.received', text: `m${i}`, at: 5000 });
		expect(t.ctx().messages).toHaveLength(chatLimits.burst);
		expect(t.ctx().notice).toBe('refused-rate');
		expect(t.rec.commands).toEqual([
			{ type: 'chat.reply', why: 'rate' },
			{ type: 'chat.reply', why: 'rate' }
		]);
		t.rec.back({ type: 'chat.received', text: 'after a second', at: 6000 });
		expect(t.ctx().messages.at(-1)?.text).toBe('after a second');
		t.rec.back({ type: 'chat.received', text: 'too soon', at: 6100 });
		expect(t.ctx().messages).toHaveLength(chatLimits.burst + 1);
	});

	test('the far side refusing ours is said', () => {
		const t = start();
		openCaller(t);
		t.rec.back({ type: 'chat.peerRefused', why: 'rate' });
		expect(t.ctx().notice).toBe('peer-refused-rate');
		t.rec.back({ type: 'chat.peerRefused', why: 'too-long' });
		expect(t.ctx().notice).toBe('peer-refused-too-long');
	});

	test(`only the newest ${chatLimits.kept} messages are kept`, () => {
		const t = start();
		openCaller(t);
		for (let i = 0; i < chatLimits.kept + 5; i++) t.rec.back({ type: 'chat.received', text: `m${i}`, at: 1000 * 1000 * i });
		expect(t.ctx().messages).toHaveLength(chatLimits.kept);
		expect(t.ctx().messages[0].text).toBe('m5');
		expect(t.ctx().messages.at(-1)?.id).toBe(chatLimits.kept + 5);
	});

	test('caller: a closed or never-opened link is opened again after retryDelay, at most 5 times in a row', () => {
		const t = start('outgoing');
		openCaller(t);
		t.rec.back({ type: 'chat.closed' });
		expect(t.value().link).toBe('retrying');
		t.clock.increment(2000);
		expect(t.value().link).toEqual({ linked: 'connecting' });
		for (let i = 0; i < 4; i++) {
			t.clock.increment(10_000);
			expect(t.value().link, `retry ${i}`).toBe('retrying');
			t.clock.increment(2000);
		}
		t.clock.increment(10_000);
		expect(t.value().link).toBe('waiting');
		// The call connects again (a re-dial): a fresh start.
		t.actor.send({ type: 'chat.connect' });
		t.clock.increment(1000);
		t.rec.back({ type: 'chat.opened' });
		expect(t.ctx().retries).toBe(0);
	});

	test('callee: a closed link waits for the caller’s next connection', () => {
		const t = start('incoming');
		t.actor.send({ type: 'chat.incoming', conn: conn() as never, from: 'bob', offer: { callId: 'c1' } });
		t.rec.back({ type: 'chat.closed' });
		expect(t.value().link).toBe('waiting');
		expect(t.ctx().conn).toBeNull();
	});
});

describe('the chat protocol', () => {
	test('frames: msg and refuse only, bounded', () => {
		expect(parseChatFrame('{"t":"msg","text":"<b>x</b>"}')).toEqual({ t: 'msg', text: '<b>x</b>' });
		expect(parseChatFrame('{"t":"refuse","why":"rate"}')).toEqual({ t: 'refuse', why: 'rate' });
		expect(parseChatFrame('{"t":"refuse","why":"other"}')).toBeNull();
		expect(parseChatFrame('{"t":"msg","text":5}')).toBeNull();
		expect(parseChatFrame('{"t":"msg"}')).toBeNull();
		expect(parseChatFrame('null')).toBeNull();
		expect(parseChatFrame('nope')).toBeNull();
		expect(parseChatFrame({ t: 'msg', text: 'x' })).toBeNull();
		expect(parseChatFrame(new ArrayBuffer(8))).toBeNull();
		expect(parseChatFrame(JSON.stringify({ t: 'msg', text: '\u0001'.repeat(chatLimits.chars) }))).not.toBeNull();
		expect(parseChatFrame(JSON.stringify({ t: 'msg', text: 'x'.repeat(chatLimits.chars * 7) }))).toBeNull();
	});

	test('text is cleaned of control and direction characters, line ends made \\n', () => {
		expect(cleanText('a\r\nb\rc\u202ed\u2066e\u0007f\tg')).toBe('a\nb\ncdef\tg');
		expect(cleanText('\n\n  hi  \n\n')).toBe('  hi');
	});

	test('the token bucket refills at the rate up to the burst', () => {
		let b: { tokens: number; at: number } | null = { tokens: 1, at: 0 };
		b = takeToken(b, 0);
		expect(b).toEqual({ tokens: 0, at: 0 });
		expect(takeToken(b!, 500)).toBeNull();
		expect(takeToken(b!, 1000)).toEqual({ tokens: 0, at: 1000 });
		expect(takeToken({ tokens: 0, at: 0 }, 10 ** 9)).toEqual({ tokens: chatLimits.burst - 1, at: 10 ** 9 });
		expect(takeToken({ tokens: 3, at: 5000 }, 1000)).toEqual({ tokens: 2, at: 1000 });
	});

	test('transcript: one line per message with time and who', () => {
		const text = transcript(
			[
				{ id: 1, from: 'me', text: 'hi', at: Date.UTC(2026, 0, 2, 3, 4, 5) },
				{ id: 2, from: 'them', text: 'a\nb', at: Date.UTC(2026, 0, 2, 3, 4, 6) }
			],
			{ me: 'You', them: 'Bob' }
		);
		expect(text).toBe('[2026-01-02 03:04:05] You: hi\n[2026-01-02 03:04:06] Bob: a\nb\n');
	});
});

describe('the chat link (actors/chat.ts) over a fake DataConnection', () => {
	function fakeConn(open = false) {
		const handlers = new Map<string, (arg?: unknown) => void>();
		const c = {
			open,
			serialization: 'raw',
			sent: [] as string[],
			closed: 0,
			on: (name: string, fn: (arg?: unknown) => void) => void handlers.set(name, fn),
			removeAllListeners: () => handlers.clear(),
			send: (s: string) => void c.sent.push(s),
			close: () => void c.closed++,
			fire: (name: string, arg?: unknown) => handlers.get(name)?.(arg)
		};
		return c;
	}

	test('the caller dials with the call in the metadata, raw; frames become events; it closes when stopped', () => {
		const c = fakeConn();
		const connects: unknown[] = [];
		const peer = { destroyed: false, connect: (to: string, o: unknown) => (connects.push([to, o]), c) };
		const clock = new SimulatedClock();
		const actor = createActor(chatMachine, { input: { peer: peer as never, direction: 'outgoing', remoteId: 'bob', callId: 'c1' }, clock }).start();
		actor.send({ type: 'chat.connect' });
		clock.increment(1000);
		expect(connects).toEqual([['bob', { metadata: { chat: { callId: 'c1' } }, serialization: 'raw', reliable: true }]]);
		c.open = true;
		c.fire('open');
		expect(actor.getSnapshot().value).toEqual({ link: { linked: 'open' }, panel: 'collapsed' });
		c.fire('data', '{"t":"msg","text":"<script>x</script>"}');
		c.fire('data', 'garbage');
		c.fire('data', { t: 'msg', text: 'object' });
		expect(actor.getSnapshot().context.messages.map((m) => m.text)).toEqual(['<script>x</script>']);
		actor.send({ type: 'chat.send', text: 'hello' });
		expect(c.sent).toEqual(['{"t":"msg","text":"hello"}']);
		c.fire('data', JSON.stringify({ t: 'msg', text: 'x'.repeat(chatLimits.chars + 1) }));
		expect(c.sent.at(-1)).toBe('{"t":"refuse","why":"too-long"}');
		actor.stop();
		expect(c.closed).toBe(1);
	});

	test('no Peer, or connect throws: closed at once, nothing thrown', () => {
		const clock = new SimulatedClock();
		const actor = createActor(chatMachine, { input: { peer: null, direction: 'outgoing', remoteId: 'bob', callId: 'c1' }, clock }).start();
		actor.send({ type: 'chat.connect' });
		clock.increment(1000);
		expect(actor.getSnapshot().value).toEqual({ link: 'retrying', panel: 'collapsed' });
		const throwing = { destroyed: false, connect: () => { throw new Error('x'); } };
		const b = createActor(chatMachine, { input: { peer: throwing as never, direction: 'outgoing', remoteId: 'bob', callId: 'c1' }, clock }).start();
		b.send({ type: 'chat.connect' });
		expect(() => clock.increment(1000)).not.toThrow();
	});

	test('an accepted incoming connection that is already open counts as opened', () => {
		const c = fakeConn(true);
		const actor = createActor(chatMachine, { input: { peer: null, direction: 'incoming', remoteId: 'bob', callId: 'c1' } }).start();
		actor.send({ type: 'chat.incoming', conn: c as never, from: 'bob', offer: { callId: 'c1' } });
		expect(actor.getSnapshot().value).toEqual({ link: { linked: 'open' }, panel: 'collapsed' });
		c.fire('close');
		expect(actor.getSnapshot().value).toEqual({ link: 'waiting', panel: 'collapsed' });
	});
});
