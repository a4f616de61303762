/**
 * A real redis-server of the test's own, on a free loopback port, with nothing kept on disk.
 * Debian's `redis-server` (`apt-get install -y redis-server`; .ci/run installs it when missing).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

export const redisServerPath = process.env.REDIS_SERVER_PATH ?? '/usr/bin/redis-server';

export function haveRedis(): boolean {
	return fs.existsSync(redisServerPath);
}

export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.once('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const port = (s.address() as net.AddressInfo).port;
			s.close(() => resolve(port));
		});
	});
}

export interface TestRedis {
	port: number;
	url: string;
	/** Kills it (SIGKILL: a crash, nothing saved). */
	kill(): Promise<void>;
	/** Starts it again on the same port, empty. */
	restart(): Promise<void>;
	stop(): Promise<void>;
}

function launch(port: number): Promise<ChildProcess> {
	const child = spawn(redisServerPath, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], {
		stdio: ['ignore', 'pipe', 'pipe']
	});
	let out = '';
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 10_000);
		const onData = (d: Buffer) => {
			out += d;
			if (/Ready to accept connections/.test(out)) {
				clearTimeout(timer);
				child.stdout!.off('data', onData);
				resolve(child);
			}
		};
		child.stdout!.on('data', onData);
		child.stderr!.on('data', (d) => (out += d));
		child.once('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`redis-server exited (${code}):\n${out}`));
		});
	});
}

async function killChild(child: ChildProcess, signal: NodeJS.Signals) {
	if (child.exitCode !== null || child.signalCode !== null) return;
	const gone = new Promise((resolve) => child.once('exit', resolve));
	child.kill(signal);
	await gone;
}

export async function startRedis(): Promise<TestRedis> {
	const port = await freePort();
	let child = await launch(port);
	return {
		port,
		url: `redis://127.0.0.1:${port}`,
		kill: () => killChild(child, 'SIGKILL'),
		async restart() {
			await killChild(child, 'SIGKILL');
			child = await launch(port);
		},
		stop: () => killChild(child, 'SIGKILL')
	};
}
