// Re-exports only `Peer`: `import('peerjs')` as a whole pulls in msgpack (+8 KB gzip).
export { Peer } from 'peerjs';
export type { DataConnection, MediaConnection, PeerError } from 'peerjs';
