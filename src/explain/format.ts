/** An explanation as the CLI prints it: one block per listener, indented by what belongs to what. */
import type { ClusterExplanation, Explanation, HttpExplanation, TcpExplanation } from './explanation.js';

export function formatExplanation(explanation: Explanation): string {
  const lines: string[] = [];
  const version = explanation.version === undefined ? '' : `, config version ${explanation.version}`;
  lines.push(
    `${explanation.mode === 'live' ? 'live' : 'offline'} explanation at ${explanation.at}${version}`,
  );
  for (const note of explanation.notes) lines.push(`note: ${note}`);
  for (const result of explanation.results) {
    lines.push('');
    if (result.kind === 'http') formatHttp(result, lines);
    else formatTcp(result, lines);
  }
  return `${lines.join('\n')}\n`;
}

function formatTcp(result: TcpExplanation, lines: string[]): void {
  lines.push(`listener ${result.listener.name} (${result.kind}, ${result.listener.address})`);
  if (result.serverName) {
    const name = result.serverName.name ?? '(none sent)';
    lines.push(`  server name ${name}: selected by ${result.serverName.selectedBy}`);
  }
  for (const cluster of result.clusters) formatCluster(cluster, lines);
  if (result.answer) lines.push(`  answer: ${result.answer}`);
}

function formatHttp(result: HttpExplanation, lines: string[]): void {
  const r = result.request;
  lines.push(`listener ${result.listener.name} (http, ${result.listener.address})`);
  lines.push(`  request: ${r.method} ${r.path}${r.query} host=${r.host || '(none)'}`);
  for (const [name, value] of Object.entries(r.headers)) {
    if (name !== 'host') lines.push(`    ${name}: ${value}`);
  }
  for (const route of result.routes) {
    if (route.matched) {
      lines.push(`  route ${route.name}: MATCHES`);
      continue;
    }
    lines.push(`  route ${route.name}: no`);
    for (const reason of route.reasons) lines.push(`    - ${reason}`);
  }
  if (result.forward)
    lines.push(`  forwards: ${result.forward.path} with Host ${result.forward.host || '(none)'}`);
  if (result.split) {
    const shares = result.split.map((s) => `${s.cluster} ${s.percent}% (weight ${s.weight})`);
    lines.push(`  split: ${shares.join(', ')}`);
  }
  for (const cluster of result.clusters) formatCluster(cluster, lines);
  if (result.answer) lines.push(`  answer: ${result.answer}`);
}

function formatCluster(cluster: ClusterExplanation, lines: string[]): void {
  lines.push(`  cluster ${cluster.name}: ${cluster.policy}; endpoints from ${cluster.endpointsFrom}`);
  if (cluster.upstreamProtocol) lines.push(`    upstream protocol: ${cluster.upstreamProtocol}`);
  for (const note of cluster.notes) lines.push(`    note: ${note}`);
  if (cluster.endpointsUnknown) {
    lines.push('    next pick: not known offline');
    return;
  }
  if (cluster.endpoints.length === 0) lines.push('    (no endpoints)');
  for (const e of cluster.endpoints) {
    const where = [e.locality.node && `node ${e.locality.node}`, e.locality.zone && `zone ${e.locality.zone}`]
      .filter(Boolean)
      .join(', ');
    const active = e.active === undefined ? '' : `, ${e.active} active`;
    const facts = `weight ${e.weight}${where ? `, ${where}` : ''}${active}`;
    lines.push(`    ${e.usable ? 'usable    ' : 'NOT usable'} ${e.address} (${facts})`);
    for (const reason of e.reasons) lines.push(`      - ${reason}`);
    if (e.lastError) lines.push(`      last failure: ${e.lastError}`);
  }
  lines.push(`    next pick: ${cluster.nextPick ?? 'none (no usable endpoint)'}`);
}
