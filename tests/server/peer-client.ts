/**
 * A PeerJS 1.5 client's side of the signaling protocol, over a raw WebSocket: what a stock
 * client sends and sees, and what a stranger can send instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import WebSocket from 'ws';

export const root = path.resolve(import.meta.dirname, '../..');

export interface ServerMessage {
	type: string;
	src?: string;
	dst?: string;
	payload?: any;
}

export class PeerSocket {
	readonly messages: ServerMessage[] = [];
	closed: { code: number; reason: string } | null = null;
	private waiters: (() => void)[] = [];

	constructor(readonly ws: WebSocket) {
		ws.on('message', (data) => {
			this.messages.push(JSON.parse(data.toString()));
			this.wake();
		});
		ws.on('close', (code, reason) => {
			this.closed = { code, reason: reason.toString() };
			this.wake();
		});
		ws.on('error', () => {});
	}

	private wake() {
		for (const w of this.waiters.splice(0)) w();
	}

	/** Waits until a message matching `pred` has arrived (and removes it from the inbox). */
	async next(pred: string | ((m: ServerMessage) => boolean), timeout = 3000): Promise<ServerMessage> {
		const match = typeof pred === 'string' ? (m: ServerMessage) => m.type === pred : pred;
		const deadline = Date.now() + timeout;
		for (;;) {
			const i = this.messages.findIndex(match);
			if (i >= 0) return this.messages.splice(i, 1)[0];
			const left = deadline - Date.now();
			if (left <= 0 || this.closed) {
				throw new Error(`no matching message (inbox: ${JSON.stringify(this.messages).slice(0, 300)}, closed: ${JSON.stringify(this.closed)})`);
			}
			await new Promise<void>((resolve) => {
				const t = setTimeout(resolve, left);
				this.waiters.push(() => {
					clearTimeout(t);
					resolve();
				});
			});
		}
	}

	async waitClosed(timeout = 3000): Promise<{ code: number; reason: string }> {
		const deadline = Date.now() + timeout;
		while (!this.closed) {
			if (Date.now() > deadline) throw new Error('socket still open');
			await new Promise<void>((resolve) => {
				const t = setTimeout(resolve, deadline - Date.now());
				this.waiters.push(() => {
					clearTimeout(t);
					resolve();
				});
			});
		}
		return this.closed;
	}

	send(message: unknown) {
		this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
	}

	close() {
		this.ws.terminate();
	}
}

export interface ConnectOptions {
	key?: string;
	headers?: Record<string, string>;
	origin?: string;
	localAddress?: string;
}

/** Opens a socket the way PeerJS does (`<base>/peerjs/peerjs?key=&id=&token=&version=`). */
export function connect(base: string, id: string, token: string, options: ConnectOptions = {}): Promise<PeerSocket> {
	const url = `${base.replace(/^http/, 'ws')}/peerjs/peerjs?key=${options.key ?? 'peerjs'}&id=${encodeURIComponent(id)}&token=${encodeURIComponent(token)}&version=1.5.5`;
	const ws = new WebSocket(url, { headers: options.headers, origin: options.origin, localAddress: options.localAddress });
	const peer = new PeerSocket(ws);
	return new Promise((resolve, reject) => {
		ws.once('open', () => resolve(peer));
		ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
		ws.once('error', reject);
	});
}

/** Connects and waits for OPEN. */
export async function register(base: string, id: string, token = `t-${id}`, options: ConnectOptions = {}): Promise<PeerSocket> {
	const peer = await connect(base, id, token, options);
	await peer.next('OPEN');
	return peer;
}

export const SDP_OFFER = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\na=rtpmap:96 VP8/90000\r\n';

/** Frames exactly as PeerJS 1.5.5 sends them (negotiator.ts). */
export function offer(dst: string, extra: Record<string, unknown> = {}) {
	return {
		type: 'OFFER',
		payload: { sdp: { type: 'offer', sdp: SDP_OFFER }, type: 'media', connectionId: 'mc_abc123', metadata: { callId: 'c1' }, ...extra },
		dst
	};
}

export function dataOffer(dst: string, extra: Record<string, unknown> = {}) {
	return offer(dst, { type: 'data', connectionId: 'dc_xyz', label: 'dc_xyz', reliable: true, serialization: 'json', metadata: { control: { type: 'decline', callId: 'c1' } }, ...extra });
}

export function answer(dst: string) {
	return { type: 'ANSWER', payload: { sdp: { type: 'answer', sdp: SDP_OFFER }, type: 'media', connectionId: 'mc_abc123' }, dst };
}

export function candidate(dst: string) {
	return {
		type: 'CANDIDATE',
		payload: {
			candidate: { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'abcd' },
			type: 'media',
			connectionId: 'mc_abc123'
		},
		dst
	};
}

export interface ChildServer {
	url: string;
	child: ChildProcess;
	output: () => string;
	exited: Promise<number | null>;
	stop(): Promise<void>;
}

/** `npm start`'s own entry point as a separate process (so a crash is a crash, not a test error). */
export function startChild(env: Record<string, string>): Promise<ChildServer> {
	// Not vitest's NODE_ENV=test and VITEST*: a build made under them is not a production build.
	const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_ENV' && !k.startsWith('VITEST')));
	const child = spawn(process.execPath, [path.join(root, 'src/server/start.js')], {
		cwd: root,
		env: { ...inherited, PORT: '0', HOST: '127.0.0.1', ICE_SERVERS: '[]', ...env },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	let out = '';
	child.stdout!.on('data', (d) => (out += d));
	child.stderr!.on('data', (d) => (out += d));
	const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 60_000);
		const onData = () => {
			const m = /CamCall is running: (\S+)/.exec(out);
			if (!m) return;
			clearTimeout(timer);
			child.stdout!.off('data', onData);
			resolve({
				url: m[1],
				child,
				output: () => out,
				exited,
				async stop() {
					if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
					await exited;
				}
			});
		};
		child.stdout!.on('data', onData);
		void exited.then((code) => {
			clearTimeout(timer);
			reject(new Error(`server exited (${code}) before it started:\n${out}`));
		});
	});
}
