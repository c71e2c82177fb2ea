// client-node's whole KubeConfig, for what only it does: auth-providers (oidc, …) and proxy-url (HTTP(S) and
// SOCKS proxies). Loaded only for a user or cluster that needs it (./auth.ts): the release build makes it a
// separate bundle (scripts/build.mjs), so no other command parses it.
import type http from "node:http";
import type https from "node:https";
import { KubeConfig } from "@kubernetes/client-node/dist/config.js";
import type { Cluster, Context as ClientContext, User } from "@kubernetes/client-node/dist/config_types.js";
import type { Selection } from "./kubeconfig.js";

/** The agent and headers client-node's KubeConfig gives a request (headers without the plugin's own). */
export function clientNodeConnection(sel: Selection, server: string): { prepare(): Promise<{ agent: http.Agent; headers: Record<string, string> }> } {
  const kc = toKubeConfig(sel, server);
  const insecure = sel.cluster.insecureSkipTlsVerify === true || server.startsWith("http:");
  return {
    async prepare() {
      // rejectUnauthorized stated: client-node leaves it unset unless verification is off, and Node.js would then
      // take it from NODE_TLS_REJECT_UNAUTHORIZED, which kubectl ignores.
      const opts: https.RequestOptions = { headers: {}, rejectUnauthorized: !insecure };
      await kc.applyToHTTPSOptions(opts);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k] = String(v);
      return { agent: opts.agent as http.Agent, headers };
    },
  };
}

/** The selection as client-node's KubeConfig: only the chosen context, cluster and user. */
function toKubeConfig(sel: Selection, server: string): KubeConfig {
  const kc = new KubeConfig();
  const c = sel.cluster;
  const plainHttp = server.startsWith("http:");
  const cluster: Cluster = {
    name: sel.clusterName || "cluster",
    server,
    caFile: c.certificateAuthority,
    caData: c.certificateAuthorityData,
    // Plain http (kubectl proxy) has no TLS to verify; client-node refuses http:// unless this is set.
    skipTLSVerify: c.insecureSkipTlsVerify === true || plainHttp,
    tlsServerName: c.tlsServerName,
    proxyUrl: c.proxyUrl,
  };
  const u = sel.user;
  const userName = sel.userName || "user";
  // kubectl sends credentials only over TLS. tokenFile, username/password (client-node would put them in
  // opts.auth) and impersonation are ./auth.ts's.
  const user: User = plainHttp
    ? { name: userName }
    : {
        name: userName,
        certFile: u.clientCertificate,
        certData: u.clientCertificateData,
        keyFile: u.clientKey,
        keyData: u.clientKeyData,
        token: u.tokenFile && !u.exec && !u.authProvider ? undefined : u.token,
        authProvider: u.authProvider,
        exec: u.exec,
      };
  const context: ClientContext = { name: sel.contextName || "context", cluster: cluster.name, user: userName, namespace: sel.namespace };
  kc.loadFromOptions({ clusters: [cluster], users: [user], contexts: [context], currentContext: context.name });
  return kc;
}
