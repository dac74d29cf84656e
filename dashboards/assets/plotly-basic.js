/* Charts draw with plotly.js's basic bundle (scatter and bar traces: every chart of the dashboard), a
   quarter of the full plotly.js to load, fetched when a page first shows a chart (pages with tables only
   never load it). dcc.Graph loads window._dashPlotlyJSURL when Plotly is missing and the renderer points
   that at the full bundle, so it is pinned here. The version (plotly.py's own) makes the URL cacheable. */
Object.defineProperty(window, "_dashPlotlyJSURL", {
  get: () => "/assets/plotly-basic.min.js?v=4.1.1",
  set: () => {},
});
