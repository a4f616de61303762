/** PeerJS connections, closed from teardown paths that may run after PeerJS tore one down. */
import type { DataConnection } from 'peerjs';

/** Closes a connection that may be closed already (PeerJS can throw on one it tore down). */
export function closeQuietly(conn: Pick<DataConnection, 'close'> | null | undefined): void {
	try {
		conn?.close();
	} catch {
		/* already closed */
	}
}
