/**
 * The dashboard: one self-contained HTML page (inline CSS and JS, no CDN, no build step).
 * It polls `/api/dashboard` once a second and redraws; with an admin token it sends the
 * token from the page's `#token=` fragment or a field it shows after a 401.
 */
import { dashboardScript } from './script.js';
import { dashboardStyle } from './style.js';

export const dashboardPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Portside</title>
<style>${dashboardStyle}</style>
</head>
<body>
<header>
  <h1>⚓ Portside</h1>
  <span id="ready" class="badge warn">loading</span>
  <span class="meta">config v<span id="version">–</span></span>
  <span class="meta" id="build"></span>
  <span class="meta" id="last-reload"></span>
  <span class="meta" id="status"></span>
  <form id="auth"><input id="token" type="password" placeholder="admin token" autocomplete="off"><button>Use token</button></form>
</header>
<main>
  <section class="wide">
    <h2>Traffic</h2>
    <div class="spark" id="rates"></div>
  </section>
  <section class="wide">
    <h2>Listeners</h2>
    <table id="listeners"><thead><tr><th>Name</th><th>Address</th><th>Forwards to</th><th class="num">Active</th><th class="num">Total</th><th class="num">Bytes in / out</th><th class="num">Request p50 / p99</th><th>Responses</th><th>State</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="wide">
    <h2>Routes</h2>
    <table id="routes"><thead><tr><th>Listener</th><th>Route</th><th>Cluster</th><th class="num">Requests</th><th class="num">Errors</th><th>Responses</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="wide">
    <h2>Clusters</h2>
    <div id="clusters"></div>
  </section>
  <section>
    <h2>Health transitions</h2>
    <ul class="events" id="health"></ul>
  </section>
  <section>
    <h2>Reloads</h2>
    <ul class="events" id="reloads"></ul>
  </section>
</main>
<script>${dashboardScript}</script>
</body>
</html>
`;
