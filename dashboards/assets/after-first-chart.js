/* What can wait on a page until its first chart is on screen: the page's other charts and its tables.
   The browser is the bottleneck of a page load (script, React and plotly.js drawing, all on one thread),
   so a page draws the chart it comes with (a card marked data-with-page, see dashboards/components.py)
   first and asks for the rest only once that chart is drawn and the browser has painted it. A page
   without such a card, or whose first chart is not drawn within WAIT_LIMIT_MS, does not wait longer. */
(function () {
  "use strict";

  const WAIT_LIMIT_MS = 3000;
  const FIRST_CHART = ".chart-card[data-with-page]";
  const DRAWN = ".js-plotly-plot .main-svg";

  function firstChartDrawn(card) {
    return new Promise((resolve) => {
      const drawn = () => !card.isConnected || card.querySelector(DRAWN) !== null;
      if (drawn()) {
        resolve();
        return;
      }
      const done = () => {
        observer.disconnect();
        clearTimeout(limit);
        resolve();
      };
      const observer = new MutationObserver(() => drawn() && done());
      observer.observe(card, { childList: true, subtree: true });
      const limit = setTimeout(done, WAIT_LIMIT_MS);
    });
  }

  /* Resolves (with the time) once the page's first chart is drawn and the browser is idle after it;
     every card and table of a page waits on the same promise. */
  function afterFirstChart() {
    const card = document.querySelector(FIRST_CHART);
    let waiting = card ? card.owtFirstChart : Promise.resolve();
    if (card && !waiting) {
      waiting = card.owtFirstChart = firstChartDrawn(card);
    }
    return waiting.then(() => new Promise((resolve) => {
      const ask = () => resolve(Date.now());
      window.requestIdleCallback ? requestIdleCallback(ask, { timeout: 1000 }) : setTimeout(ask, 50);
    }));
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    owt: Object.assign({}, (window.dash_clientside || {}).owt, {
      /* When a card is wanted (its view checked, or it drawn): the card drawn with the page at once (its
         spec has the view it shows), any other once the first chart is drawn; once, when it mounts. */
      cardWanted: (spec, wanted) => {
        if (wanted) {
          return window.dash_clientside.no_update;
        }
        return spec && spec.view ? Date.now() : afterFirstChart();
      },
      /* A table made after the charts (`table_after_charts`). */
      tableWanted: () => afterFirstChart(),
    }),
  });
})();
