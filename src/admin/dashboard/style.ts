/** The dashboard's stylesheet (inlined into the page: no files to serve, nothing to build). */
export const dashboardStyle = `
:root { --bg:#0f1419; --panel:#171d24; --line:#263040; --text:#d8dee6; --dim:#8a96a6;
  --ok:#3fb950; --bad:#f85149; --warn:#d29922; --accent:#58a6ff; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--text);
  font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; }
header { display:flex; flex-wrap:wrap; align-items:center; gap:6px 16px; padding:14px 24px;
  border-bottom:1px solid var(--line); background:var(--panel); }
header h1 { font-size:18px; margin:0; letter-spacing:.5px; }
header .meta { color:var(--dim); font-size:13px; }
main { padding:20px 24px; display:grid; gap:20px; grid-template-columns:repeat(auto-fit,minmax(min(520px,100%),1fr)); }
section { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:14px 16px; min-width:0; overflow-x:auto; }
section.wide { grid-column:1/-1; }
h2 { font-size:13px; text-transform:uppercase; letter-spacing:1px; color:var(--dim); margin:0 0 10px; }
h3 { font-size:15px; margin:14px 0 6px; display:flex; flex-wrap:wrap; align-items:center; gap:4px 10px; }
table { width:100%; border-collapse:collapse; font-size:13px; }
th { text-align:left; color:var(--dim); font-weight:500; padding:4px 8px; border-bottom:1px solid var(--line); }
td { padding:5px 8px; border-bottom:1px solid #1d2530; font-variant-numeric:tabular-nums; }
td.num, th.num { text-align:right; }
code { font:12px ui-monospace,SFMono-Regular,Menlo,monospace; }
.badge { display:inline-block; padding:2px 8px; border-radius:10px; font-size:12px; font-weight:600; }
.badge.ok { background:rgba(63,185,80,.15); color:var(--ok); }
.badge.bad { background:rgba(248,81,73,.15); color:var(--bad); }
.badge.warn { background:rgba(210,153,34,.15); color:var(--warn); }
.dot { display:inline-block; width:9px; height:9px; border-radius:50%; margin-right:6px; }
.dot.ok { background:var(--ok); } .dot.bad { background:var(--bad); }
.dot.unknown { background:none; border:1px solid var(--dim); }
.badge.dim { background:rgba(138,150,166,.15); color:var(--dim); }
.codes { display:inline-flex; flex-wrap:wrap; gap:4px; }
.code { padding:0 6px; border-radius:4px; font-size:12px; white-space:nowrap; background:rgba(138,150,166,.12); }
.code.c2xx { color:var(--ok); } .code.c3xx { color:var(--accent); }
.code.c4xx { color:var(--warn); } .code.c5xx, .code.cnone { color:var(--bad); }
td.bytes { white-space:nowrap; }
/* A phone: one column, and each table row stacked as label: value lines. */
@media (max-width:640px) {
  header, main { padding:10px 12px; }
  main { gap:12px; }
  section { padding:10px; overflow-x:visible; }
  .spark { gap:12px; }
  table thead { display:none; }
  table, tbody, tr, td { display:block; width:100%; }
  tr { padding:6px 0; border-bottom:1px solid var(--line); }
  td { border:0; padding:1px 0 1px 42%; position:relative; text-align:left; overflow-wrap:anywhere; min-height:20px; }
  td.num { text-align:left; }
  td[data-label]::before { content:attr(data-label); position:absolute; left:0; width:40%; color:var(--dim);
    white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
  td.bytes { white-space:normal; }
  code { overflow-wrap:anywhere; }
}
.spark { display:flex; gap:24px; flex-wrap:wrap; }
.spark figure { margin:0; }
.spark figcaption { color:var(--dim); font-size:12px; }
.spark .value { font-size:22px; font-weight:600; }
.spark svg { display:block; }
ul.events { list-style:none; margin:0; padding:0; max-height:260px; overflow:auto; font-size:13px; }
ul.events li { padding:5px 0; border-bottom:1px solid #1d2530; }
ul.events time { color:var(--dim); margin-right:8px; font-variant-numeric:tabular-nums; }
.dim { color:var(--dim); }
h3 .dim { font-size:12px; font-weight:400; }
.error { color:var(--bad); }
#auth { display:none; gap:8px; align-items:center; }
#auth input { background:var(--bg); color:var(--text); border:1px solid var(--line); border-radius:4px; padding:4px 8px; }
#status.stale { color:var(--warn); }
`;
