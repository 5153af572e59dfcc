/**
 * Request targets in absolute form (`PUT http://host/v1/data/k HTTP/1.1`, as proxies and some
 * clients send them) name the same resource as their path (RFC 9112 §3.2.2), and their authority
 * stands in for Host. Rewritten before routing, so every route sees the path alone.
 */
import type { IncomingMessage } from 'node:http';

const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i;

export function originFormTarget(req: IncomingMessage): string {
  const url = req.url ?? '/';
  if (url.charCodeAt(0) === 47) return url; // "/": origin form, the usual case
  const absolute = ABSOLUTE_FORM.exec(url);
  if (!absolute) return url; // asterisk form or garbage: routing answers it
  const authority = absolute[1]!.slice(absolute[1]!.lastIndexOf('@') + 1);
  // An HTTP/1.1 request sent without Host stays without: server.ts refuses it (RFC 9112 §3.2).
  if (authority !== '' && (req.headers.host !== undefined || req.httpVersion !== '1.1')) req.headers.host = authority;
  const rest = url.slice(absolute[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}
