"""The HTML report's one stylesheet and one script, inline, and the Content-Security-Policy that
allows exactly them (by hash) and nothing else: no network, no other script, no `style`
attribute. A hostile name that slipped past escaping still could not run.

The script is small vanilla JavaScript: sort the ranked table by a column, filter it by status,
team and text. It reads only the page's own attributes, and sets `data-ready` on `<html>` when it
has run (the browser test looks for it).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Final

CSS: Final = """
:root{--fg:#1d2330;--muted:#5f6b7a;--line:#d8dde4;--bg:#fff;--alt:#f6f8fa;
--sus:#c0392b;--rev:#d68910;--ok:#2e86c1;--ins:#95a5a6;--exc:#bdc3c7;--fol:#5b9bd5;--bar:#e74c3c;--cen:#c7ccd3;--mer:#27ae60}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1400px;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:20px 0 6px;overflow-wrap:anywhere}
p,li{max-width:80ch}.muted{color:var(--muted)}.summary{font-size:15px;font-weight:600}
.counts span{display:inline-block;margin-right:12px}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;font-weight:600;color:#fff;background:var(--ins)}
.badge.suspicious{background:var(--sus)}.badge.review{background:var(--rev)}.badge.ok{background:var(--ok)}.badge.excluded{background:var(--exc);color:var(--fg)}
.controls{display:flex;gap:12px;flex-wrap:wrap;align-items:center;margin:8px 0}
.controls label{font-size:13px;color:var(--muted)}
select,input{font:inherit;padding:2px 6px}
.tablewrap{overflow-x:auto;max-height:min(70vh,720px);overflow-y:auto;border:1px solid var(--line)}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:3px 8px;border-bottom:1px solid var(--line);text-align:right;vertical-align:top;white-space:nowrap}
th{position:sticky;top:0;background:var(--alt);cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td.t,th.t{text-align:left}td.why{white-space:normal;min-width:40ch;max-width:70ch}
td.acct{white-space:nowrap}
tbody tr:nth-child(even){background:var(--alt)}
.charts{display:flex;flex-wrap:wrap;gap:8px}
svg.chart{width:100%;height:auto;max-width:760px;display:block}
svg.chart.small{max-width:240px}svg.chart.timeline{max-width:760px}
svg text{font-size:11px;fill:var(--fg)}
.tick{fill:var(--muted);text-anchor:middle}.tick.end{text-anchor:end;dominant-baseline:middle}
.axis-label{text-anchor:middle;fill:var(--muted);font-size:12px}
.chart-title{font-weight:600}
.axis{stroke:#8a94a3;stroke-width:1}.grid{stroke:#eef1f4;stroke-width:1}
.band{fill:#2e86c1;fill-opacity:.12}.fit{stroke:#2e86c1;stroke-width:1.5;fill:none}
.pt{fill-opacity:.75;stroke:#fff;stroke-width:.5}
.pt.suspicious{fill:var(--sus)}.pt.review{fill:var(--rev)}.pt.ok{fill:var(--ok)}.pt.insufficient_data{fill:var(--ins)}
.lbl{font-size:10px;fill:var(--sus)}.lbl.end{text-anchor:end}
.hist{fill:#7f8c8d}.uniform{stroke:var(--sus);stroke-dasharray:4 3;stroke-width:1.5}
.tl-followed,.day-followed{fill:var(--fol)}.tl-barren,.day-barren{fill:var(--bar)}
.tl-censored,.day-censored{fill:var(--cen)}.tl-merged{fill:var(--mer)}
.legend>span{display:inline-block;margin-right:14px;font-size:12px;color:var(--muted)}.legend .badge{color:#fff}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
.legend i.followed{background:var(--fol)}.legend i.barren{background:var(--bar)}.legend i.censored{background:var(--cen)}.legend i.merged{background:var(--mer)}
.evidence td{white-space:normal}.evidence td:first-child{white-space:nowrap}
section.account{border-top:1px dashed var(--line);margin-top:16px}
footer{margin-top:40px;font-size:12px;color:var(--muted)}
@media print{.controls{display:none}.tablewrap{max-height:none;overflow:visible}}
""".strip()

JS: Final = """
(function(){
"use strict";
var table=document.getElementById("ranked");
if(table){
var body=table.tBodies[0];
var heads=table.tHead.rows[0].cells;
var status=document.getElementById("f-status"),team=document.getElementById("f-team"),text=document.getElementById("f-text"),shown=document.getElementById("f-shown");
var key=function(cell,numeric){
if(!numeric){return cell.textContent.toLowerCase();}
var v=cell.getAttribute("data-v");
return v===null||v===""?null:parseFloat(v);
};
Array.prototype.forEach.call(heads,function(th,col){
th.setAttribute("tabindex","0");
var sort=function(){
var numeric=th.getAttribute("data-type")==="n";
var dir=th.getAttribute("aria-sort")==="ascending"?-1:1;
Array.prototype.forEach.call(heads,function(h){h.removeAttribute("aria-sort");});
th.setAttribute("aria-sort",dir===1?"ascending":"descending");
var rows=Array.prototype.slice.call(body.rows);
rows.sort(function(a,b){
var x=key(a.cells[col],numeric),y=key(b.cells[col],numeric);
if(x===y){return 0;}if(x===null){return 1;}if(y===null){return -1;}
return (x<y?-1:1)*dir;
});
rows.forEach(function(r){body.appendChild(r);});
};
th.addEventListener("click",sort);
th.addEventListener("keydown",function(e){if(e.key==="Enter"||e.key===" "){e.preventDefault();sort();}});
});
var filter=function(){
var s=status.value,t=team.value,q=text.value.toLowerCase(),n=0;
Array.prototype.forEach.call(body.rows,function(r){
var hide=(s!==""&&r.getAttribute("data-status")!==s)||(t!==""&&r.getAttribute("data-team")!==t)||(q!==""&&r.textContent.toLowerCase().indexOf(q)<0);
r.hidden=hide;if(!hide){n+=1;}
});
shown.textContent=String(n);
};
status.addEventListener("change",filter);team.addEventListener("change",filter);text.addEventListener("input",filter);
filter();
}
document.documentElement.setAttribute("data-ready","1");
})();
""".strip()


def _hash(text: str) -> str:
    return (
        "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"
    )


#: Only this page's own style and script run; nothing is fetched (no `connect-src`, `img-src`
#: beyond data:, no fonts), forms and base URLs are off.
CSP: Final = (
    f"default-src 'none'; style-src {_hash(CSS)}; script-src {_hash(JS)}; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)
