/**
 * A real TURN relay on loopback (coturn, Debian's `turnserver`) for tests that must cut the
 * media path: CDP network emulation does not touch WebRTC's UDP, but with
 * iceTransportPolicy 'relay' every packet goes through this process, so killing it is a true
 * media blackout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { onCi } from './harness';

export const turnserverPath = process.env.TURNSERVER_PATH ?? '/usr/bin/turnserver';

export function turnAvailable(): boolean {
	return fs.existsSync(turnserverPath);
}

/**
 * Whether the tests that need a real TURN relay run. Locally they are skipped without coturn;
 * on CI they always run, so a missing coturn fails them (startTurn says why) instead of
 * quietly skipping the only end-to-end media-blackout test.
 */
export function turnTestsRun(): boolean {
	return onCi() || turnAvailable();
}

async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address() as net.AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

export interface Turn {
	iceServers: RTCIceServer[];
	/** Kills the relay outright: every allocation and relayed path is gone. */
	kill(): Promise<void>;
	/** Starts it again on the same port (empty: old allocations do not come back). */
	start(): Promise<void>;
	stop(): Promise<void>;
}

export async function startTurn(): Promise<Turn> {
	if (!turnAvailable()) {
		throw new Error(
			`coturn is missing (no ${turnserverPath}): the media-blackout test needs it, and on CI it must run. ` +
				'Install it (apt-get install -y coturn; .ci/run does) or point TURNSERVER_PATH at turnserver.'
		);
	}
	const port = await freePort();
	const minPort = 40000 + Math.floor(Math.random() * 10000);
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turn-'));
	const username = 'camcall';
	const credential = 'test-only';
	let proc: ChildProcess | null = null;

	const start = async () => {
		proc = spawn(
			turnserverPath,
			[
				'-n',
				'--listening-ip=127.0.0.1',
				'--relay-ip=127.0.0.1',
				`--listening-port=${port}`,
				`--min-port=${minPort}`,
				`--max-port=${minPort + 200}`,
				'--lt-cred-mech',
				`--user=${username}:${credential}`,
				'--realm=camcall.test',
				'--fingerprint',
				'--allow-loopback-peers',
				'--no-cli',
				'--no-tls',
				'--no-dtls',
				'--no-multicast-peers',
				`--pidfile=${path.join(dir, 'turn.pid')}`,
				'--log-file=stdout',
				'--simple-log'
			],
			{ stdio: ['ignore', 'pipe', 'pipe'] }
		);
		// Ready when it accepts on its port.
		const deadline = Date.now() + 5000;
		let log = '';
		proc.stdout?.on('data', (d) => (log += String(d)));
		while (Date.now() < deadline) {
			if (log.includes('Total General servers') || log.includes('listener opened on')) return;
			if (proc.exitCode !== null) throw new Error(`turnserver exited: ${log}`);
			await new Promise((r) => setTimeout(r, 50));
		}
	};
	const kill = async () => {
		const p = proc;
		proc = null;
		if (!p || p.exitCode !== null) return;
		await new Promise<void>((resolve) => {
			p.once('exit', () => resolve());
			p.kill('SIGKILL');
		});
	};
	await start();
	return {
		iceServers: [{ urls: `turn:127.0.0.1:${port}?transport=udp`, username, credential }],
		kill,
		start,
		stop: async () => {
			await kill();
			fs.rmSync(dir, { recursive: true, force: true });
		}
	};
}
