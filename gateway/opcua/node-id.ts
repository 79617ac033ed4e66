/**
 * Node ids with the namespace named by URI (`nsu=<uri>;s=Temp`), resolved against the server's NamespaceArray of
 * the current session. A PLC download may renumber namespaces, so the resolution is done again for every new
 * session and a configured index is never trusted.
 */

export interface UriNodeId {
  /** The namespace URI; null for the standard namespace (`ns=0;…`). */
  uri: string | null;
  /** The identifier part as written: `i=1001`, `s=Floor.Temp`, `g=…`, `b=…`. */
  identifier: string;
}

const STANDARD = 'http://opcfoundation.org/UA/';

/** Parses `nsu=<uri>;<id>` or `ns=0;<id>`; throws one sentence for anything else (a namespace index other than 0). */
export function parseUriNodeId(text: string): UriNodeId {
  const m = /^(?:nsu=([^;]+)|ns=(\d+));((?:i=\d+)|(?:s=.+)|(?:g=[0-9a-fA-F-]{36})|(?:b=[A-Za-z0-9+/=]+))$/s.exec(text);
  if (!m) throw new Error(`node id ${JSON.stringify(text)} is not nsu=<namespace URI>;i=<n>|s=<name>`);
  if (m[2] !== undefined && m[2] !== '0') throw new Error(`node id ${JSON.stringify(text)} names namespace index ${m[2]}: name the namespace by its URI (nsu=…), an index can change at the next PLC download`);
  return { uri: m[1] === undefined || m[1] === STANDARD ? null : m[1], identifier: m[3]! };
}

/** `ns=<index>;<id>` for the session whose NamespaceArray is `namespaces`; throws when the URI is not (or no longer) on the server. */
export function resolveNodeId(id: UriNodeId, namespaces: readonly string[]): string {
  if (id.uri === null) return `ns=0;${id.identifier}`;
  const index = namespaces.indexOf(id.uri);
  if (index < 0) throw new NamespaceMissing(id.uri);
  return `ns=${index};${id.identifier}`;
}

export class NamespaceMissing extends Error {
  constructor(readonly uri: string) {
    super(`namespace ${uri} is not in the server's NamespaceArray`);
  }
}
